// The chain benches' mesh (examples/chain.yaml on two nodes): client (node-1) -> passthrough fw-1 (node-1) ->
// passthrough fw-2 (node-2) -> icmp-responder nse-1 (node-2), steered by the service's matches; each nsmgr with its
// forwarder in process. Used by the `chain` phase and the bench/chain-cpu.ts diagnostic.
import { execFileSync } from 'node:child_process';
import { freePort, ROOT, type MeshProcess } from '../../test/e2e/helpers/mesh.js';
import { delNetns, netns, newMesh, stopMesh } from './harness.js';
import { bridgeUnderlay } from './underlay.js';

export const CHAIN_SERVICE = 'secure';
const MATCHES = [
  { source_selector: { app: 'nsc' }, routes: [{ destination_selector: { app: 'fw-1' } }] },
  { source_selector: { app: 'fw-1' }, routes: [{ destination_selector: { app: 'fw-2' } }] },
  { source_selector: { app: 'fw-2' }, routes: [{ destination_selector: { app: 'icmp' } }] },
];

export interface ChainMesh {
  /** nsmgr-1's URL (the client's). */
  nsmgrUrl: string;
  /** The client's namespace. */
  clientNs: string;
  /** Every mesh process by name: registry, nsmgr-1, nsmgr-2, fw-1, fw-2, nse-1. */
  procs: Map<string, MeshProcess>;
  stop(): Promise<void>;
}

/** Starts the chain's mesh; `env` goes to every component (e.g. NSM_LOG_LEVEL). */
export async function startChainMesh(env: Record<string, string> = {}): Promise<ChainMesh> {
  const mesh = newMesh();
  const procs = new Map<string, MeshProcess>();
  const [n1, n2, ul, nsc, fw1, fw2, nse] = [await netns('cn1'), await netns('cn2'), await netns('cul'), await netns('cc'), await netns('cf1'), await netns('cf2'), await netns('ce')];
  const stop = async () => {
    await stopMesh(mesh);
    await delNetns(nsc, fw1, fw2, nse, n1, n2, ul);
  };
  try {
    await bridgeUnderlay(ul, [n1, n2]);
    const registryUrl = `tcp://198.18.0.1:${await freePort()}`;
    procs.set('registry', await mesh.registry({ listen: registryUrl, netns: n1, env }));
    execFileSync('ip', ['netns', 'exec', n1, process.execPath, 'bin/nsm.js', 'ns', 'register', '--registry', registryUrl, '--name', CHAIN_SERVICE, '--matches', JSON.stringify(MATCHES)], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    for (const [i, n] of [n1, n2].entries()) {
      const k = i + 1;
      procs.set(
        `nsmgr-${k}`,
        await mesh.nsmgr({
          name: `nsmgr-${k}`,
          listen: mesh.sock(`nsmgr-${k}`),
          tcpListen: `tcp://198.18.0.${k}:${await freePort()}`,
          registry: registryUrl,
          netns: n,
          env,
          withForwarder: { underlayIp: `198.18.0.${k}`, listen: mesh.sock(`fwd-${k}`), backgroundRemoval: true },
        }),
      );
    }
    for (const [name, node, ws] of [['fw-1', 1, fw1], ['fw-2', 2, fw2]] as const) {
      const p = mesh.spawn(name, ['nse', 'passthrough', '--name', name, '--service', CHAIN_SERVICE, '--labels', `app=${name}`, '--nsmgr', mesh.sock(`nsmgr-${node}`), '--netns', ws, '--listen', mesh.sock(`nse-${name}`)], {
        netns: node === 1 ? n1 : n2,
        env,
      });
      await p.waitLine(/^nse .* serving /, 90_000);
      procs.set(name, p);
    }
    const e = mesh.spawn('nse-1', ['nse', 'icmp-responder', '--name', 'nse-1', '--service', CHAIN_SERVICE, '--labels', 'app=icmp', '--nsmgr', mesh.sock('nsmgr-2'), '--netns', nse, '--listen', mesh.sock('nse-nse-1'), '--cidr', '169.254.30.0/24'], { netns: n2, env });
    await e.waitLine(/^nse .* serving /, 90_000);
    procs.set('nse-1', e);
  } catch (err) {
    await stop();
    throw err;
  }
  return { nsmgrUrl: mesh.sock('nsmgr-1'), clientNs: nsc, procs, stop };
}
