// `nsm status [NAME] [--json]`: the running mesh (DESIGN section 10): components, workloads, connections.
import type { Command } from 'commander';
import { componentTable, connectionTable, listMeshes, meshStatus, readState } from '../cluster/index.js';
import { usageError } from './cli-error.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The mesh to act on: NAME, or the only one up. Undefined when none is up. */
export async function pickMesh(cmd: string, name: string | undefined): Promise<string | undefined> {
  if (name) return name;
  const names = await listMeshes();
  if (names.length > 1) usageError(`${cmd}: several meshes are up (${names.join(', ')}); name one: nsm ${cmd} NAME`);
  return names[0];
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show a mesh brought up by nsm up: components, connections, pings')
    .argument('[name]', 'mesh name (optional when one mesh is up)')
    .option('--json', 'print JSON (DESIGN section 10)')
    .action(async (nameArg: string | undefined, flags: { json?: boolean }) => {
      const name = await pickMesh('status', nameArg);
      const state = name ? await readState(name) : undefined;
      if (!state) {
        process.stderr.write(`nsm: status: ${name ? `mesh "${name}" is not up` : 'no mesh is up (start one: nsm up examples/demo.yaml)'}\n`);
        process.exit(1);
      }
      const st = await meshStatus(state);
      if (flags.json) {
        say(JSON.stringify(st, null, 2));
        return;
      }
      say(`mesh ${st.name} (${st.file}): ${st.phase}; supervisor ${st.supervisor ? `pid ${st.supervisor.pid} ${st.supervisor.state}` : 'none'}; run dir ${st.runDir}`);
      say('');
      componentTable(st.components).forEach(say);
      say('');
      connectionTable(st.connections).forEach(say);
      say('');
      const ctrs = st.workloads.filter((w) => w.container);
      if (ctrs.length > 0) say(`podman containers: ${ctrs.map((w) => `${w.name}=${w.container}`).join(', ')}   (podman --runtime runc exec NAME ...)`);
      say(`logs: ${st.runDir}/logs/<component>.log   tear down: nsm down ${st.name}`);
    });
}
