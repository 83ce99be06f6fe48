// Test helper: clients started one at a time until the mesh refuses one (an endpoint whose address pool is
// exhausted), for tests that check what a refused Request leaves behind.
import type { Mesh, MeshProcess } from './mesh.js';

/**
 * Starts a client in each of `namespaces` in turn (Request timeout 4 s) until one exits without a connection;
 * resolves that one once it has exited, or undefined when every client connected.
 */
export async function firstRefusedClient(mesh: Mesh, namespaces: string[], opts: { nsmgr: string; urls: string[]; netns?: string }): Promise<{ ns: string; proc: MeshProcess } | undefined> {
  for (const [i, ns] of namespaces.entries()) {
    const p = mesh.spawnNsc({ name: `nsc-x${i}`, nsmgr: opts.nsmgr, workloadNetns: ns, urls: opts.urls, ...(opts.netns ? { netns: opts.netns } : {}), extra: ['--request-timeout', '4s'] });
    const outcome = await Promise.race([p.waitLine(/^\{/, 30_000).then(() => 'up' as const), p.exited.then(() => 'exited' as const)]).catch(() => 'exited' as const);
    if (outcome === 'exited' || !p.alive) {
      await p.exited;
      return { ns, proc: p };
    }
  }
  return undefined;
}
