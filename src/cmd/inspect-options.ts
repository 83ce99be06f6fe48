// Shared flags of the inspection commands (`get`, `describe`): `--mesh NAME` (a mesh brought up by
// `nsm up`; default: the only one up), or `--registry URL` and `--nsmgr URL,...` given directly.
import { Option, type Command } from 'commander';
import { readState } from '../cluster/index.js';
import { sourcesOfMesh, type InspectSources } from '../cluster/inspect/sources.js';
import { useMeshIdentity } from '../cluster/mesh-security.js';
import { listArg, meshUrlArg } from './cli-options.js';
import { usageError } from './cli-error.js';
import { pickMesh } from './status.js';

export interface InspectFlags {
  mesh?: string;
  registry?: string;
  nsmgr?: string[];
  output: 'table' | 'wide' | 'json';
}

export function addInspectOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--mesh <name>', 'a mesh brought up by nsm up (default: the only one up)'))
    .addOption(new Option('--registry <url>', 'registry (or nsmgr) to ask for services and endpoints').env('NSM_REGISTRY_URL').argParser(meshUrlArg))
    .addOption(new Option('--nsmgr <urls>', 'nsmgrs to ask for connections (comma separated)').argParser((v: string) => listArg(v).map(meshUrlArg)))
    .addOption(new Option('-o, --output <format>', 'table, wide or json').choices(['table', 'wide', 'json']).default('table'));
}

/** Flags first; otherwise the mesh named (or the only one up). */
export async function inspectSources(cmd: string, flags: InspectFlags): Promise<InspectSources> {
  if (!flags.mesh && (flags.registry || flags.nsmgr)) return { ...(flags.registry ? { registryUrl: flags.registry } : {}), nsmgrUrls: flags.nsmgr ?? [] };
  const name = await pickMesh(cmd, flags.mesh);
  const state = name ? await readState(name) : undefined;
  if (!state) usageError(`${cmd}: ${name ? `mesh "${name}" is not up` : 'no mesh is up'}; name one with --mesh NAME, or give --registry URL / --nsmgr URL,...`);
  await useMeshIdentity(state.plan);
  const s = sourcesOfMesh(state);
  return { ...s, ...(flags.registry ? { registryUrl: flags.registry } : {}), ...(flags.nsmgr ? { nsmgrUrls: flags.nsmgr } : {}) };
}
