// `nsm status [NAME] [--json]`: the running mesh: components, workloads, connections (README: CLI).
import type { Command } from 'commander';
import { NSM_CMD, componentTable, connectionTable, listMeshes, meshStatus, readState, statusHeadline } from '../cluster/index.js';
import { usageError } from './cli-error.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The mesh to act on: NAME, or the only one up. Undefined when none is up. */
export async function pickMesh(cmd: string, name: string | undefined): Promise<string | undefined> {
  if (name) return name;
  const names = await listMeshes();
  if (names.length > 1) usageError(`${cmd}: several meshes are up (${names.join(', ')}); name one: ${NSM_CMD} ${cmd} NAME`);
  return names[0];
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show a mesh brought up by nsm up: components, connections, pings')
    .argument('[name]', 'mesh name (optional when one mesh is up)')
    .option('--json', 'print JSON: name, file, runDir, phase, supervisor, components, workloads, connections')
    .action(async (nameArg: string | undefined, flags: { json?: boolean }) => {
      const name = await pickMesh('status', nameArg);
      const state = name ? await readState(name) : undefined;
      if (!state) {
        process.stderr.write(`nsm: status: ${name ? `mesh "${name}" is not up` : `no mesh is up (start one: ${NSM_CMD} up examples/demo.yaml)`}\n`);
        process.exit(1);
      }
      const st = await meshStatus(state);
      if (flags.json) {
        say(JSON.stringify(st, null, 2));
        return;
      }
      say(statusHeadline(st));
      say('');
      componentTable(st.components).forEach(say);
      say('');
      connectionTable(st.connections).forEach(say);
      say('');
      const ctrs = st.workloads.filter((w) => w.container);
      if (ctrs.length > 0) say(`podman containers: ${ctrs.map((w) => `${w.name}=${w.container}`).join(', ')}   (podman --runtime runc exec NAME ...)`);
      say(`logs: ${st.runDir}/logs/<component>.log   tear down: ${NSM_CMD} down ${st.name}`);
    });
}
