// Where `nsm get` / `nsm describe` ask: the registry and the nsmgrs given by flags, or those of a mesh
// brought up by `nsm up` (`--mesh NAME`). A mesh's registry listens inside its namespaces, so for a mesh
// the registry is asked through its first nsmgr's unix socket (the nsmgr proxies Find to it).
import type { MeshState } from '../../cluster/state.js';

export interface InspectSources {
  registryUrl?: string;
  nsmgrUrls: string[];
}

export function sourcesOfMesh(state: MeshState): InspectSources {
  const nsmgrs = state.plan.components.filter((c) => c.kind === 'nsmgr').map((c) => c.url);
  return { ...(nsmgrs[0] ? { registryUrl: nsmgrs[0] } : {}), nsmgrUrls: nsmgrs };
}
