// `nsm down [NAME]`: stops every process of a mesh and removes its namespaces, interfaces, sockets
// and run dir; works after `nsm up` crashed; removes the logs a failed start kept; harmless when nothing is up.
import type { Command } from 'commander';
import { isAlive, meshPaths, readState, removeKeptLogs, sleep, teardown } from '../cluster/index.js';
import { SCENARIO_NAME_RE } from '../cluster/scenario-checks.js';
import { stopProcess } from '../cluster/teardown.js';
import { createLogger } from '../sdk/core/log.js';
import { usageError } from './cli-error.js';
import { pickMesh } from './status.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

export function registerDownCommand(program: Command): void {
  program
    .command('down')
    .description('stop a mesh brought up by nsm up and remove everything it created')
    .argument('[name]', 'mesh name (optional when one mesh is up)')
    .action(async (nameArg: string | undefined) => {
      const name = await pickMesh('down', nameArg);
      let state = name ? await readState(name) : undefined;
      if (!state) {
        if (name && SCENARIO_NAME_RE.test(name) && (await removeKeptLogs(meshPaths(name)))) say(`mesh ${name} is not up; removed the logs kept from its failed start (${meshPaths(name).logDir})`);
        else say(name ? `mesh ${name} is not up; nothing to do` : 'no mesh is up; nothing to do');
        return;
      }
      if (process.getuid?.() !== 0) usageError('down: needs root to remove network namespaces (run it as root)');
      const log = createLogger('nsm-down', process.env.NSM_LOG_LEVEL ?? 'warn');
      const sup = state.supervisor;
      if (sup && sup.pid !== process.pid && isAlive(sup)) {
        say(`stopping supervisor pid ${sup.pid} (it tears the mesh down)`);
        await stopProcess(sup, 30_000);
        await sleep(50);
        state = await readState(state.plan.name);
        if (!state) {
          say(`mesh ${name} is down`);
          return;
        }
      }
      const r = await teardown(state, log);
      say(`stopped ${r.stopped.length + r.killed.length} process(es)${r.killed.length ? ` (killed ${r.killed.join(', ')})` : ''}, removed ${r.containers.length ? `${r.containers.length} container(s), ` : ''}${r.namespaces.length} namespace(s) and ${state.plan.runDir}`);
      say(`mesh ${name} is down`);
    });
}
