// Bench phase `remote`: two nodes on an underlay bridge (VXLAN between them), each an nsmgr with its forwarder
// in process: request.remote.* and close.remote.* against the CNI ptp plugin, throughput.vxlan and rtt.remote.*
// against a raw VXLAN on the same underlay.
import { closeAllChannels } from '../../src/api/index.js';
import { MeshClient } from '../../src/components/client.js';
import { freePort } from '../../test/e2e/helpers/mesh.js';
import {
  add, addRequest, addRtt, delNetns, ip, ipOf, iperfMedian, IPERF_REPS, IPERF_SECONDS, log, median, netns, newMesh, ptp, ptpDel, requestCloseTimes, RUNS, stopMesh, wanted,
  type Phase,
} from '../lib/harness.js';
import { bridgeUnderlay } from '../lib/underlay.js';

async function remotePhase(): Promise<void> {
  const wantReq = wanted('request.remote.p50', 'request.remote.p99', 'close.remote');
  const wantTput = wanted('throughput.vxlan');
  // rtt.remote alone (`--only rtt.remote`) needs the connection and the raw VXLAN, not the request timings or iperf3.
  const wantRtt = wanted('rtt.remote');
  if (!wantReq && !wantTput && !wantRtt) return;
  log('remote: two nodes on an underlay bridge, registry on node-1');
  const mesh = newMesh();
  const [n1, n2, ul, nsc, nse] = [await netns('n1'), await netns('n2'), await netns('ul'), await netns('rc'), await netns('re')];
  const extraNs: string[] = [];
  try {
    await bridgeUnderlay(ul, [n1, n2]);
    const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
    await mesh.registry({ listen: registryUrl, netns: n1 });
    for (const [i, n] of [n1, n2].entries()) {
      const k = i + 1;
      const nsmgrUrl = mesh.sock(`nsmgr-${k}`);
      await mesh.nsmgr({
        name: `nsmgr-${k}`,
        listen: nsmgrUrl,
        tcpListen: `tcp://198.18.0.${k}:${await freePort()}`,
        registry: registryUrl,
        netns: n,
        withForwarder: { underlayIp: `198.18.0.${k}`, listen: mesh.sock(`fwd-${k}`), backgroundRemoval: true },
      });
    }
    await mesh.nse({ name: 'nse-1', nsmgr: mesh.sock('nsmgr-2'), workloadNetns: nse, cidr: '169.254.0.0/16', netns: n2 });
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl: mesh.sock('nsmgr-1') });

    if (wantReq) {
      log(`remote: ${RUNS} sequential requests`);
      const ours = await requestCloseTimes(client, nsc, RUNS);
      addRequest('request.remote', ours.request, await ptp());
      addRequest('close.remote', ours.close, await ptpDel(), 'CNI ptp DEL');
    }
    if (wantTput || wantRtt) {
      log('throughput.vxlan / rtt.remote: iperf3 and ping through a mesh connection and through a raw VXLAN on the same underlay');
      const conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-tp', netnsUrl: `file:///var/run/netns/${nsc}` });
      const ra = await netns('rva');
      const rb = await netns('rvb');
      extraNs.push(ra, rb);
      // Like the forwarder: the VXLAN is created in the node namespace (underlay) and moved into the workload's.
      for (const [n, w, local, remote, addr] of [
        [n1, ra, '198.18.0.1', '198.18.0.2', '169.254.253.1/30'],
        [n2, rb, '198.18.0.2', '198.18.0.1', '169.254.253.2/30'],
      ] as const) {
        await ip('-n', n, 'link', 'add', 'vxraw', 'mtu', '1450', 'netns', w, 'type', 'vxlan', 'id', '16000000', 'local', local, 'remote', remote, 'dstport', '4790');
        await ip('-n', w, 'addr', 'add', addr, 'dev', 'vxraw');
        await ip('-n', w, 'link', 'set', 'vxraw', 'up');
      }
      if (wantTput) {
        const ours: number[] = [];
        const raw: number[] = [];
        for (let i = 0; i < IPERF_REPS; i++) {
          ours.push(await iperfMedian(nse, ipOf(conn.context!.ipContext!.dstIpAddrs[0]!), nsc, 1, IPERF_SECONDS));
          raw.push(await iperfMedian(rb, '169.254.253.2', ra, 1, IPERF_SECONDS));
        }
        add({ name: 'throughput.vxlan', value: median(ours), unit: 'Gbit/s', baseline: median(raw), baselineLabel: 'raw VXLAN' });
      }
      if (wantRtt) await addRtt('remote', { ns: nsc, dst: ipOf(conn.context!.ipContext!.dstIpAddrs[0]!) }, { ns: ra, dst: '169.254.253.2' }, 'a raw VXLAN on the same underlay');
      await client.close(conn);
    }
  } finally {
    closeAllChannels();
    await stopMesh(mesh);
    await delNetns(nsc, nse, ...extraNs, n1, n2, ul);
  }
}

export const remote: Phase = { name: 'remote', run: remotePhase };
