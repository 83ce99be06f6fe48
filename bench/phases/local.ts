// Bench phase `local`: one node (registry, nsmgr with its forwarder in process, icmp-responder NSE): request.local.*
// and close.local.* against the CNI ptp plugin's ADD and DEL, measured in alternating rounds after a warm-up of each
// mesh (and the same with the forwarder as a separate process; request.local.fresh.*: the freshly started mesh),
// throughput.kernel and rtt.local.* against a raw veth, and 1,000 connections
// (connections.1000.*, memory.per-connection as RSS growth across all mesh processes).
import { closeMany, connectMany } from '../lib/connect-many.js';
import { closeAllChannels } from '../../src/api/index.js';
import { MeshClient } from '../../src/components/client.js';
import { freePort, type Mesh } from '../../test/e2e/helpers/mesh.js';
import {
  add, addRequest, addRtt, delNetns, ip, ipOf, iperfMedian, IPERF_REPS, IPERF_SECONDS, log, QUICK, median, missing, netns, newMesh, ptp, ptpDel, ptpRound, requestCloseTimes, RUNS, stopMesh, WARMUP, treeRssKiB, wanted,
  type Phase,
} from '../lib/harness.js';

/** Requests measured on the freshly started mesh (before the warm-up). */
const FRESH_RUNS = QUICK ? 15 : 30;

async function localPhase(): Promise<void> {
  const wantReq = wanted('request.local.p50', 'request.local.p99', 'close.local.p50', 'close.local.p99', 'rtt.local');
  const wantTput = wanted('throughput.kernel', 'rtt.local');
  const wantConns = wanted('connections.1000.seconds', 'memory.per-connection.rss'); // not matched by --only memory.per-connection.after-gc
  if (!wantReq && !wantTput && !wantConns) return;
  log('local: registry, nsmgr with its forwarder in process (nsm nsmgr --with-forwarder), nse as separate processes');
  const mesh = newMesh();
  const nses = await netns('nse');
  const c0 = await netns('c0');
  const clients: MeshClient[] = [];
  const extraNs: string[] = [];
  const extraMeshes: Mesh[] = [];
  try {
    const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
    const nsmgrUrl = mesh.sock('nsmgr');
    const procs = [
      await mesh.registry({ listen: registryUrl }),
      await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl, withForwarder: { underlayIp: '198.18.0.1', backgroundRemoval: true } }),
      await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nses, cidr: '169.254.0.0/16' }),
    ];
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl });
    clients.push(client);

    if (wantReq) {
      // The same mesh with the forwarder as its own process (the upstream layout), requests alternating in rounds.
      log('local: a second mesh with nsmgr and forwarder as separate processes');
      const sep = newMesh();
      extraMeshes.push(sep);
      const [sepNse, sepC] = [await netns('snse'), await netns('sc0')];
      extraNs.push(sepNse, sepC);
      const sepReg = `tcp://127.0.0.1:${await freePort()}`;
      await sep.registry({ listen: sepReg });
      await sep.nsmgr({ name: 'nsmgr-s', listen: sep.sock('nsmgr'), registry: sepReg });
      await sep.forwarder({ name: 'fwd-s', listen: sep.sock('fwd'), nsmgr: sep.sock('nsmgr'), underlayIp: '198.18.0.1' });
      await sep.nse({ name: 'nse-s', nsmgr: sep.sock('nsmgr'), workloadNetns: sepNse, cidr: '169.254.0.0/16' });
      const sepClient = await MeshClient.create({ name: 'bench-nsc-s', nsmgrUrl: sep.sock('nsmgr') });
      clients.push(sepClient);
      // A freshly started mesh first (request.local.fresh.*): V8 optimises a function only after hundreds of calls, so
      // its first Requests run mostly unoptimised. Then both meshes serve WARMUP Requests, as a mesh that has been up a
      // while has, before request.local.* and close.local.* are measured.
      log(`local: ${FRESH_RUNS} Request+Close on the freshly started mesh, then ${WARMUP} on each mesh to warm it up`);
      const fresh = await requestCloseTimes(client, c0, FRESH_RUNS, 3);
      await requestCloseTimes(client, c0, 0, WARMUP);
      await requestCloseTimes(sepClient, sepC, 0, WARMUP);
      log(`local: ${RUNS} sequential Request+Close on each mesh and CNI ptp ADD+DEL, alternating in rounds of 5`);
      const ours = { request: [] as number[], close: [] as number[] };
      const separate = { request: [] as number[], close: [] as number[] };
      for (let r = 0; r < Math.ceil(RUNS / 5); r++) {
        const a = await requestCloseTimes(client, c0, 5, 0, r * 5);
        await ptpRound(5, r === 0 ? 1 : 0);
        const b = await requestCloseTimes(sepClient, sepC, 5, 0, r * 5);
        ours.request.push(...a.request);
        ours.close.push(...a.close);
        separate.request.push(...b.request);
        separate.close.push(...b.close);
      }
      const [add_, del] = [await ptp(), await ptpDel()];
      addRequest('request.local', ours.request, add_);
      addRequest('request.local.fresh', fresh.request, add_);
      addRequest('close.local', ours.close, del, 'CNI ptp DEL');
      addRequest('request.local.separate-forwarder', separate.request, add_);
      addRequest('close.local.separate-forwarder', separate.close, del, 'CNI ptp DEL');
      await sepClient.shutdown().catch(() => undefined);
    }

    if (wantTput) {
      log('throughput.kernel: iperf3 through a mesh connection and through a raw veth');
      const conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-tp', netnsUrl: `file:///var/run/netns/${c0}` });
      const rawA = await netns('rawa');
      const rawB = await netns('rawb');
      extraNs.push(rawA, rawB);
      await ip('link', 'add', 'veth0', 'netns', rawA, 'type', 'veth', 'peer', 'name', 'veth1', 'netns', rawB);
      await ip('-n', rawA, 'addr', 'add', '169.254.252.1/30', 'dev', 'veth0');
      await ip('-n', rawB, 'addr', 'add', '169.254.252.2/30', 'dev', 'veth1');
      await ip('-n', rawA, 'link', 'set', 'veth0', 'up');
      await ip('-n', rawB, 'link', 'set', 'veth1', 'up');
      const ours: number[] = [];
      const raw: number[] = [];
      for (let i = 0; i < IPERF_REPS; i++) {
        ours.push(await iperfMedian(nses, ipOf(conn.context!.ipContext!.dstIpAddrs[0]!), c0, 1, IPERF_SECONDS));
        raw.push(await iperfMedian(rawB, '169.254.252.2', rawA, 1, IPERF_SECONDS));
      }
      add({ name: 'throughput.kernel', value: median(ours), unit: 'Gbit/s', baseline: median(raw), baselineLabel: 'raw veth' });
      if (wantReq) await addRtt('local', { ns: c0, dst: ipOf(conn.context!.ipContext!.dstIpAddrs[0]!) }, { ns: rawA, dst: '169.254.252.2' }, 'a raw veth pair');
      await client.close(conn);
    }

    if (wantConns) {
      const N = 1000;
      const NS = 10;
      const CONC = 16;
      const pids = procs.map((p) => p.pid);
      log(`connections: ${N} connections over ${NS} client namespaces, concurrency ${CONC}`);
      const cns: string[] = [];
      for (let k = 0; k < NS; k++) cns.push(await netns(`m${k}`));
      extraNs.push(...cns);
      const nscs: MeshClient[] = [];
      for (let k = 0; k < NS; k++) nscs.push(await MeshClient.create({ name: `bench-nsc-${k}`, nsmgrUrl }));
      clients.push(...nscs);
      // Let the earlier phases' garbage settle before taking the baseline RSS.
      await new Promise((r) => setTimeout(r, 1000));
      const rssBefore = treeRssKiB(pids);
      const perBefore = procs.map((p) => treeRssKiB([p.pid]));
      const { conns, made, failed, firstErr, seconds } = await connectMany(nscs, cns, N, CONC, 60_000);
      const rssAfter = treeRssKiB(pids);
      const growth = procs.map((p, j) => `${p.kind} +${treeRssKiB([p.pid]) - perBefore[j]!}`).join(', ');
      if (failed > 0) {
        log(`connections: ${failed} of ${N} failed: ${String(firstErr)}`);
        missing('connections.1000.seconds', `${failed} of ${N} requests failed (first: ${String(firstErr).slice(0, 200)}); ${conns.length} took ${seconds.toFixed(1)} s`);
        missing('memory.per-connection', 'not all connections were established');
      } else {
        add({ name: 'connections.1000.seconds', value: seconds, unit: 's', note: `${NS} namespaces x ${N / NS} interfaces, concurrency ${CONC}, one run` });
        add({ name: 'memory.per-connection', value: (rssAfter - rssBefore) / N, unit: 'KiB', note: `VmRSS of registry, nsmgr (forwarder in process), nse and their children: ${rssBefore} -> ${rssAfter} KiB (${growth} KiB)` });
      }
      log(`connections: closing ${conns.length}`);
      const t1 = performance.now();
      await closeMany(made, CONC);
      if (failed === 0) add({ name: 'connections.1000.close.seconds', value: (performance.now() - t1) / 1000, unit: 's' });
    }
  } finally {
    closeAllChannels();
    for (const m of extraMeshes) await stopMesh(m);
    await stopMesh(mesh);
    await delNetns(nses, c0, ...extraNs);
  }
}

export const local: Phase = { name: 'local', run: localPhase };
