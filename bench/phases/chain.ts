// Bench phase `chain`: request.chain3.p50/p99, a service function chain across two nodes as in
// examples/chain.yaml: client (node-1) -> passthrough fw-1 (node-1) -> passthrough fw-2 (node-2) -> icmp-responder
// (node-2), steered by the service's matches; each nsmgr with its forwarder in process. A Request returns once
// every hop of all three connections is programmed; the same run's request.remote (client straight to the
// endpoint by name, same mesh) is the baseline.
import { execFileSync } from 'node:child_process';
import { closeAllChannels } from '../../src/api/index.js';
import { MeshClient } from '../../src/components/client.js';
import { freePort, ROOT } from '../../test/e2e/helpers/mesh.js';
import { add, delNetns, log, netns, newMesh, percentile, QUICK, stopMesh, wanted, type Phase } from '../lib/harness.js';
import { bridgeUnderlay } from '../lib/underlay.js';

const SERVICE = 'secure';
const MATCHES = [
  { source_selector: { app: 'nsc' }, routes: [{ destination_selector: { app: 'fw-1' } }] },
  { source_selector: { app: 'fw-1' }, routes: [{ destination_selector: { app: 'fw-2' } }] },
  { source_selector: { app: 'fw-2' }, routes: [{ destination_selector: { app: 'icmp' } }] },
];

async function chainPhase(): Promise<void> {
  if (!wanted('request.chain3.p50', 'request.chain3.p99')) return;
  log('chain: client -> passthrough (node-1) -> passthrough (node-2) -> icmp-responder (node-2)');
  const mesh = newMesh();
  const [n1, n2, ul, nsc, fw1, fw2, nse] = [await netns('cn1'), await netns('cn2'), await netns('cul'), await netns('cc'), await netns('cf1'), await netns('cf2'), await netns('ce')];
  try {
    await bridgeUnderlay(ul, [n1, n2]);
    const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
    await mesh.registry({ listen: registryUrl, netns: n1 });
    execFileSync('ip', ['netns', 'exec', n1, process.execPath, 'bin/nsm.js', 'ns', 'register', '--registry', registryUrl, '--name', SERVICE, '--matches', JSON.stringify(MATCHES)], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    for (const [i, n] of [n1, n2].entries()) {
      const k = i + 1;
      await mesh.nsmgr({
        name: `nsmgr-${k}`,
        listen: mesh.sock(`nsmgr-${k}`),
        tcpListen: `tcp://198.18.0.${k}:${await freePort()}`,
        registry: registryUrl,
        netns: n,
        withForwarder: { underlayIp: `198.18.0.${k}`, listen: mesh.sock(`fwd-${k}`), backgroundRemoval: true },
      });
    }
    for (const [name, node, ws] of [['fw-1', 1, fw1], ['fw-2', 2, fw2]] as const) {
      const p = mesh.spawn(name, ['nse', 'passthrough', '--name', name, '--service', SERVICE, '--labels', `app=${name}`, '--nsmgr', mesh.sock(`nsmgr-${node}`), '--netns', ws, '--listen', mesh.sock(`nse-${name}`)], {
        netns: node === 1 ? n1 : n2,
      });
      await p.waitLine(/^nse .* serving /, 90_000);
    }
    const e = mesh.spawn('nse-1', ['nse', 'icmp-responder', '--name', 'nse-1', '--service', SERVICE, '--labels', 'app=icmp', '--nsmgr', mesh.sock('nsmgr-2'), '--netns', nse, '--listen', mesh.sock('nse-nse-1'), '--cidr', '169.254.30.0/24'], { netns: n2 });
    await e.waitLine(/^nse .* serving /, 90_000);
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl: mesh.sock('nsmgr-1') });
    const runs = QUICK ? 15 : 40;
    const warmup = 3;
    const chain: number[] = [];
    const direct: number[] = [];
    let hops = 0;
    log(`chain: ${runs} sequential Requests through the chain, alternating with Requests straight to nse-1`);
    for (let i = 0; i < runs + warmup; i++) {
      for (const viaChain of [true, false]) {
        const t0 = performance.now();
        const conn = await client.request({
          service: SERVICE,
          ifname: `nsm-${i % 500}${viaChain ? 'c' : 'd'}`,
          netnsUrl: `file:///var/run/netns/${nsc}`,
          labels: { app: 'nsc' },
          ...(viaChain ? {} : { endpoint: 'nse-1' }),
        });
        const ms = performance.now() - t0;
        if (viaChain && i === 0) {
          hops = conn.path?.pathSegments.length ?? 0;
          const end = conn.path?.pathSegments.at(-1)?.name;
          if (end !== 'fw-1') throw new Error(`the chain's first connection ends at ${end}, not fw-1`);
        }
        await client.close(conn);
        if (i >= warmup) (viaChain ? chain : direct).push(ms);
      }
    }
    const note = `client -> fw-1 (node-1) -> fw-2 (node-2) -> nse-1 (node-2): three connections (first one ${hops} path segments), nsmgr --with-forwarder --background-removal; ${runs} Requests after ${warmup} warm-ups; baseline: a Request from the same client straight to nse-1 (one remote connection), interleaved`;
    add({ name: 'request.chain3.p50', value: percentile(chain, 50), unit: 'ms', baseline: percentile(direct, 50), baselineLabel: 'request.remote, same mesh', note });
    add({ name: 'request.chain3.p99', value: percentile(chain, 99), unit: 'ms', baseline: percentile(direct, 99), baselineLabel: 'request.remote, same mesh' });
    await client.shutdown().catch(() => undefined);
  } finally {
    closeAllChannels();
    await stopMesh(mesh);
    await delNetns(nsc, fw1, fw2, nse, n1, n2, ul);
  }
}

export const chain: Phase = { name: 'chain', run: chainPhase };
