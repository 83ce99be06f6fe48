// `nsm up FILE.yaml`: validates a scenario, brings the whole mesh up (namespaces, underlay, one
// process per component), shows progress, connections and pings, then supervises it (or --detach).
import { spawn } from 'node:child_process';
import { Option, type Command } from 'commander';
import {
  NSM_BIN, NSM_CMD, ScenarioError, keptLogsNote, removeKeptLogs, Supervisor, connectionTable, existingNamespaces, isAlive, readScenario,
  planMesh, procStartTime, readState, sleep, teardown, upMesh, writeState, type MeshPlan, type MeshState,
} from '../cluster/index.js';
import { SCENARIO_NAME_RE } from '../cluster/scenario-checks.js';
import { IcmpProber } from '../dataplane/icmp-prober.js';
import { createLogger } from '../sdk/core/log.js';
import { usageError } from './cli-error.js';
import { durationArg, waitForSignal } from './cli-options.js';
import { DEFAULT_DASHBOARD_PORT, portArg, serveDashboard } from './dashboard.js';

interface UpFlags {
  detach?: boolean;
  name?: string;
  timeout: number;
  supervise?: string;
  /** true: the default port. */
  dashboard?: number | true;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('bring up a whole mesh on this machine from a scenario file (needs root)')
    .argument('[file]', 'scenario file, e.g. examples/demo.yaml')
    .option('-d, --detach', 'return once every connection is UP; a background supervisor keeps it running')
    .option('--name <name>', "use this name instead of the scenario's (namespace prefix)")
    .addOption(new Option('--timeout <duration>', 'give up if connections are not UP after').default(60_000, '60s').argParser(durationArg))
    .addOption(new Option('--dashboard [port]', `also serve the live dashboard (nsm dashboard) on 127.0.0.1:PORT (default ${DEFAULT_DASHBOARD_PORT})`).argParser(portArg('up: --dashboard')))
    .addOption(new Option('--supervise <name>', 'internal: supervise mesh NAME (used by --detach)').hideHelp())
    .action(async (file: string | undefined, flags: UpFlags) => {
      const dashboardPort = flags.dashboard === undefined ? undefined : flags.dashboard === true ? DEFAULT_DASHBOARD_PORT : flags.dashboard;
      if (flags.supervise) return supervise(flags.supervise, dashboardPort);
      if (flags.detach && dashboardPort === 0) usageError('up: --dashboard 0 (any port) cannot be used with --detach: give a port');
      if (!file) usageError(`up: missing scenario file (e.g. ${NSM_CMD} up examples/demo.yaml)`);
      const plan = await preflight(file, flags);
      const log = createLogger('nsm-up', process.env.NSM_LOG_LEVEL ?? 'warn');
      const abort = new AbortController();
      const onSignal = () => abort.abort(new Error('interrupted'));
      // `on`, not `once`: a second Ctrl-C must not kill the teardown of a half-built mesh.
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      say(`nsm up ${plan.name} (${file}): ${plan.nodes.length} node(s), ${plan.workloads.length} workload(s), run dir ${plan.runDir}`);
      const t0 = Date.now();
      let result;
      try {
        result = await upMesh(plan, { log, progress: say, timeoutMs: flags.timeout, signal: abort.signal });
      } catch (err) {
        const why = abort.signal.aborted ? 'interrupted' : err instanceof Error ? err.message : String(err);
        process.stderr.write(`nsm: up: ${why}\n`);
        process.stderr.write(`nsm: up: ${keptLogsNote(plan)}\n`);
        process.exit(1);
      }
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      say(`mesh ${plan.name} is up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      say('');
      connectionTable(result.connections).forEach(say);
      say('');
      result.connections.forEach((c) => say(`ping ${c.dstIp.split('/')[0]} from ${c.client}: ${c.state === 'UP' ? 'ok' : 'FAILED'}`));
      say('');
      if (flags.detach) {
        await startDetachedSupervisor(plan, dashboardPort);
        if (dashboardPort !== undefined) say(`dashboard:   http://127.0.0.1:${dashboardPort}/   (served by the supervisor; see ${plan.logDir}/supervisor.log)`);
        hints(plan, true);
        process.exit(0);
      }
      await runForeground(result.state, log, dashboardPort);
    });
}

async function preflight(file: string, flags: UpFlags): Promise<MeshPlan> {
  let plan: MeshPlan;
  try {
    const { scenario, warnings } = await readScenario(file);
    warnings.forEach((w) => process.stderr.write(`nsm: warning: ${w}\n`));
    if (flags.name !== undefined && !SCENARIO_NAME_RE.test(flags.name)) usageError(`up: --name "${flags.name}" must be 1-16 characters of a-z 0-9 - starting with a letter`);
    plan = planMesh(scenario, file, flags.name);
  } catch (err) {
    if (err instanceof ScenarioError) {
      err.lines().forEach((l) => process.stderr.write(`nsm: ${l}\n`));
      process.exit(2);
    }
    throw err;
  }
  if (process.getuid?.() !== 0) usageError('up: needs root to create network namespaces (run it as root)');
  try {
    IcmpProber.assertUsable(); // the connection checks below must be able to run: say so now, not after the timeout
  } catch (err) {
    process.stderr.write(`nsm: up: cannot check connections: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  if (await readState(plan.name)) usageError(`up: mesh "${plan.name}" is already up; tear it down first: ${NSM_CMD} down ${plan.name}`);
  // Logs kept from an earlier failed start of this name go now (the new run writes its own).
  await removeKeptLogs(plan);
  const left = await existingNamespaces(plan);
  if (left.length > 0) usageError(`up: namespace "${left[0]}" already exists (not ours to reuse); remove it with: ip netns del ${left.join(' ')}`);
  return plan;
}

function hints(plan: MeshPlan, detached: boolean): void {
  say(`look around: ${NSM_CMD} status ${plan.name}   logs: ${plan.logDir}/`);
  const c = plan.workloads.find((w) => w.kind === 'client');
  if (c) say(`            ip netns exec ${c.netns} ip addr   (the client's interfaces)`);
  say(detached ? `tear down:   ${NSM_CMD} down ${plan.name}` : `stop: Ctrl-C (or ${NSM_CMD} down ${plan.name} from another shell)`);
}

async function runForeground(state: MeshState, log: ReturnType<typeof createLogger>, dashboardPort: number | undefined): Promise<void> {
  state.supervisor = { pid: process.pid, startTime: procStartTime(process.pid) ?? 0 };
  await writeState(state);
  const dashboard = await startDashboard(state.plan.name, dashboardPort, log);
  if (dashboard) say(`dashboard:   ${dashboard.url}`);
  hints(state.plan, false);
  const sup = new Supervisor(state, log, (name, n) => say(`restarted ${name} (restart #${n})`));
  sup.start();
  const sig = await waitForSignal();
  sup.stop();
  await dashboard?.stop();
  say(`${sig}: tearing down ${state.plan.name}`);
  const r = await teardown(state, log);
  say(`stopped ${r.stopped.length + r.killed.length} process(es)${r.killed.length ? ` (killed ${r.killed.join(', ')})` : ''}, removed ${r.namespaces.length} namespace(s) and ${state.plan.runDir}`);
  process.exit(0);
}

/** The dashboard of `--dashboard`; a failure to listen is reported and the mesh runs on without it. */
async function startDashboard(name: string, port: number | undefined, log: ReturnType<typeof createLogger>) {
  if (port === undefined) return undefined;
  try {
    return await serveDashboard(name, '127.0.0.1', port, (err) => log.warn({ err }, 'dashboard refresh failed'));
  } catch (err) {
    process.stderr.write(`nsm: up: dashboard: cannot listen on 127.0.0.1:${port}: ${err instanceof Error ? err.message : String(err)}\n`);
    return undefined;
  }
}

async function startDetachedSupervisor(plan: MeshPlan, dashboardPort: number | undefined): Promise<void> {
  const { fchmodSync, openSync } = await import('node:fs');
  const logFd = openSync(`${plan.logDir}/supervisor.log`, 'a', 0o640);
  fchmodSync(logFd, 0o640);
  const child = spawn(process.execPath, [NSM_BIN, 'up', '--supervise', plan.name, ...(dashboardPort !== undefined ? ['--dashboard', String(dashboardPort)] : [])], { detached: true, stdio: ['ignore', logFd, logFd] });
  child.unref();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const s = await readState(plan.name);
    if (s?.supervisor && s.supervisor.pid === child.pid && isAlive(s.supervisor)) return;
    await sleep(50);
  }
  process.stderr.write(`nsm: up: the supervisor did not start (see ${plan.logDir}/supervisor.log); components run unsupervised\n`);
}

/** The detached supervisor: restarts dead components until SIGTERM/SIGINT, then tears the mesh down. */
async function supervise(name: string, dashboardPort: number | undefined): Promise<void> {
  const log = createLogger(`supervisor-${name}`);
  const state = await readState(name);
  if (!state) usageError(`up: mesh "${name}" is not up`);
  state.supervisor = { pid: process.pid, startTime: procStartTime(process.pid) ?? 0 };
  await writeState(state);
  const sup = new Supervisor(state, log);
  sup.start();
  const dashboard = await startDashboard(name, dashboardPort, log);
  log.info({ mesh: name, ...(dashboard ? { dashboard: dashboard.url } : {}) }, 'supervising');
  const sig = await waitForSignal(log);
  sup.stop();
  await dashboard?.stop();
  log.info({ signal: sig }, 'tearing down');
  await teardown(state, log);
  process.exit(0);
}
