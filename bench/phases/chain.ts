// Bench phase `chain`: request.chain3.p50/p99, a service function chain across two nodes as in
// examples/chain.yaml: client (node-1) -> passthrough fw-1 (node-1) -> passthrough fw-2 (node-2) -> icmp-responder
// (node-2), steered by the service's matches; each nsmgr with its forwarder in process. A Request returns once
// every hop of all three connections is programmed; the same run's request.remote (client straight to the
// endpoint by name, same mesh) is the baseline.
import { closeAllChannels } from '../../src/api/index.js';
import { MeshClient } from '../../src/components/client.js';
import { add, log, percentile, QUICK, wanted, type Phase } from '../lib/harness.js';
import { CHAIN_SERVICE as SERVICE, startChainMesh } from '../lib/chain-mesh.js';

async function chainPhase(): Promise<void> {
  if (!wanted('request.chain3.p50', 'request.chain3.p99')) return;
  log('chain: client -> passthrough (node-1) -> passthrough (node-2) -> icmp-responder (node-2)');
  const mesh = await startChainMesh();
  const nsc = mesh.clientNs;
  try {
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl: mesh.nsmgrUrl });
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
    await mesh.stop();
  }
}

export const chain: Phase = { name: 'chain', run: chainPhase };
