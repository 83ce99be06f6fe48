// `nsm status [NAME] [--json]`: the running mesh: components, workloads, connections (README: CLI).
import type { Command } from 'commander';
import { NSM_CMD, componentTable, connectionTable, listMeshes, meshStatus, readState, statusHeadline, type MeshStatus } from '../cluster/index.js';
import { usageError } from './cli-error.js';
import { vl3Lines } from '../cluster/vl3-status.js';

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
    .option('-w, --watch', 'keep running: redraw (with --json: print one JSON line) whenever the status changes')
    .action(async (nameArg: string | undefined, flags: { json?: boolean; watch?: boolean }) => {
      const name = await pickMesh('status', nameArg);
      const state = name ? await readState(name) : undefined;
      if (!state) {
        process.stderr.write(`nsm: status: ${name ? `mesh "${name}" is not up` : `no mesh is up (start one: ${NSM_CMD} up examples/demo.yaml)`}\n`);
        process.exit(1);
      }
      if (flags.watch) return watchStatus(state.plan.name, !!flags.json);
      const st = await meshStatus(state);
      if (flags.json) {
        say(JSON.stringify(st, null, 2));
        return;
      }
      statusText(st).forEach(say);
    });
}

function statusText(st: MeshStatus): string[] {
  return [
    statusHeadline(st),
    '',
    ...componentTable(st.components),
    '',
    ...connectionTable(st.connections),
    '',
    ...vl3Lines(st.vl3),
    ...domainLines(st),
    ...containerLines(st),
    ...vmLines(st),
    `logs: ${st.runDir}/logs/<component>.log   tear down: ${NSM_CMD} down ${st.name}`,
  ];
}

/** One line per domain of an interdomain mesh: its registry, its nsmgr-proxy and its nodes. */
function domainLines(st: MeshStatus): string[] {
  if (!st.domains) return [];
  return [
    ...st.domains.map((d) => `domain ${d.name}${d.floating ? ' (floating)' : ''}: registry ${d.registry}${d.proxy ? `, nsmgr-proxy ${d.proxy}` : ''}, nodes ${d.nodes.join(',') || '-'}`),
    '',
  ];
}

function containerLines(st: MeshStatus): string[] {
  const ctrs = st.workloads.filter((w) => w.container);
  return ctrs.length > 0 ? [`podman containers: ${ctrs.map((w) => `${w.name}=${w.container}`).join(', ')}   (podman --runtime runc exec NAME ...)`] : [];
}

function vmLines(st: MeshStatus): string[] {
  const vms = st.workloads.filter((w) => w.vm);
  return vms.length > 0 ? [`VMs (qemu): ${vms.map((w) => `${w.name}=${w.vm}`).join(', ')}   (serial console: ${vms.map((w) => w.console).join(', ')})`] : [];
}

/** Redraws the status whenever it changes (checked every 500 ms) until SIGINT/SIGTERM or the mesh is gone. */
async function watchStatus(name: string, json: boolean): Promise<void> {
  let last = '';
  let stopped = false;
  const stop = () => (stopped = true);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  while (!stopped) {
    const state = await readState(name);
    if (!state) {
      say(json ? JSON.stringify({ name, phase: 'down' }) : `mesh ${name} is down`);
      return;
    }
    const st = await meshStatus(state);
    const text = json ? JSON.stringify(st) : statusText(st).join('\n');
    if (text !== last) {
      last = text;
      if (json) say(text);
      else process.stdout.write(`${process.stdout.isTTY ? '\x1b[2J\x1b[H' : '\n'}${new Date().toISOString()}  (watching; Ctrl-C ends)\n${text}\n`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
