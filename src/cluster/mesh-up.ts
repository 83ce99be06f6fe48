// Brings a planned mesh up: run dir and state file first (so `down` can always clean up), then
// namespaces and underlay, then the local etcd (if any), registry, nsmgrs, forwarders, endpoints,
// clients, and waits until every connection is UP. On any failure (or interruption) it tears down what it
// created but keeps the logs (`keptLogsNote` says where and until when) and rethrows.
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { collectConnections, type ConnectionStatus } from './connections.js';
import { waitEtcdHealthy } from './etcd.js';
import { createNetworks } from './networks.js';
import { startContainers } from './containers.js';
import { endpointVmComponents, prepareVmImage, vmBootAllowanceMs } from './vms.js';
import { registerServices } from './register-services.js';
import type { ComponentKind, ComponentPlan, MeshPlan } from './mesh-plan.js';
import { isAlive, lastLogLine, sleep, spawnComponent, waitReady } from './proc.js';
import { writeState, type MeshState } from './state.js';
import { teardown } from './teardown.js';
import { NSM_CMD } from './paths.js';
import { issueMeshSvids, startSvidRotation } from './mesh-security.js';

export interface UpOptions {
  log: Logger;
  /** One progress line per step. */
  progress: (line: string) => void;
  /** Overall time to wait for connections (ms). */
  timeoutMs: number;
  /** Time for each component to print its ready line (ms). */
  readyTimeoutMs?: number;
  signal?: AbortSignal;
}

const ORDER: ComponentKind[] = ['etcd', 'registry', 'nsmgr-proxy', 'nsmgr', 'forwarder', 'endpoint'];

export async function upMesh(plan: MeshPlan, opts: UpOptions): Promise<{ state: MeshState; connections: ConnectionStatus[] }> {
  await mkdir(plan.logDir, { recursive: true, mode: 0o750 });
  await mkdir(plan.sockDir, { recursive: true });
  const state: MeshState = { version: 1, phase: 'starting', createdAt: new Date().toISOString(), plan, procs: {} };
  await writeState(state);
  // SVIDs are also rotated while the mesh comes up and until this process exits (the supervisor takes over).
  let stopRotation = () => {};
  try {
    const t0 = Date.now();
    await issueMeshSvids(plan);
    stopRotation = startSvidRotation(plan, opts.log);
    await createNetworks(plan, opts.log, opts.progress);
    await startContainers(plan, opts.progress);
    await prepareVmImage(plan, opts.progress);
    // Endpoint VMs boot while the control plane starts; each endpoint waits for its guest.
    const endpointVms = endpointVmComponents(plan);
    for (const c of endpointVms) state.procs[c.name] = spawnComponent(plan, c, 0);
    await writeState(state);
    for (const kind of ORDER) {
      if (kind === 'endpoint') await waitEndpointVms(state, endpointVms, opts);
      await startKind(state, kind, opts);
      if (kind === 'registry') await registerServices(plan, opts.progress);
    }
    opts.signal?.throwIfAborted();
    // Client VMs start with their clients: each `nsm vm` waits for its connection's interface.
    const clients = plan.components.filter((c) => c.kind === 'client' || (c.kind === 'vm' && !endpointVms.includes(c)));
    for (const c of clients) state.procs[c.name] = spawnComponent(plan, c, 0);
    await writeState(state);
    opts.progress(`started ${clients.length} client(s): ${clients.map((c) => c.name).join(', ')}`);
    const connections = await waitConnections(state, opts, t0);
    state.phase = 'up';
    await writeState(state);
    return { state, connections };
  } catch (err) {
    opts.progress('startup failed; tearing down what was created (logs kept)');
    await teardown(state, opts.log, { keepLogs: true }).catch((e) => opts.log.error({ err: e }, 'teardown failed'));
    stopRotation();
    throw err;
  }
}

async function startKind(state: MeshState, kind: ComponentKind, opts: UpOptions): Promise<void> {
  opts.signal?.throwIfAborted();
  const plan = state.plan;
  const comps = plan.components.filter((c) => c.kind === kind);
  if (comps.length === 0) return;
  for (const c of comps) state.procs[c.name] = spawnComponent(plan, c, 0);
  await writeState(state);
  await Promise.all(
    comps.map(async (c) => {
      const t = Date.now();
      // etcd prints no ready line: it is ready once /health answers (before the registry starts).
      if (kind === 'etcd') await waitEtcdHealthy(plan, c, state.procs[c.name]!, opts.readyTimeoutMs ?? 20_000);
      else await waitReady(plan, c.name, state.procs[c.name]!, opts.readyTimeoutMs ?? 20_000);
      opts.progress(`${kind.padEnd(9)} ${c.name} ready in ${c.workloadNetns ?? c.netns} (${Date.now() - t} ms)`);
    }),
  );
}

/** Waits until every endpoint VM's guest serves commands (its ready line); a TCG boot may take minutes. */
async function waitEndpointVms(state: MeshState, vms: ComponentPlan[], opts: UpOptions): Promise<void> {
  await writeState(state);
  const t = Date.now();
  await Promise.all(
    vms.map(async (c) => {
      await waitReady(state.plan, c.name, state.procs[c.name]!, (opts.readyTimeoutMs ?? 20_000) + vmBootAllowanceMs(state.plan));
      opts.progress(`vm        ${c.name} ready in ${c.netns} (guest serves its connections; ${Date.now() - t} ms)`);
    }),
  );
}

async function waitConnections(state: MeshState, opts: UpOptions, t0: number): Promise<ConnectionStatus[]> {
  const deadline = Date.now() + opts.timeoutMs + vmBootAllowanceMs(state.plan);
  const reported = new Set<string>();
  for (;;) {
    opts.signal?.throwIfAborted();
    const conns = await collectConnections(state.plan);
    for (const c of conns) {
      const key = `${c.client}/${c.interface}`;
      if (c.state === 'UP' && !reported.has(key)) {
        reported.add(key);
        opts.progress(`connection ${c.client} -> ${c.service} (${c.endpoint}) UP after ${Date.now() - t0} ms`);
      }
    }
    if (conns.every((c) => c.state === 'UP')) return conns;
    const dead = state.plan.components.find((c) => !isAlive(state.procs[c.name]));
    if (dead) throw new Error(`${dead.name} exited: ${await lastLogLine(state.plan, dead.name)} (log: ${state.plan.logDir}/${dead.name}.log)`);
    if (Date.now() > deadline) {
      const down = conns.filter((c) => c.state !== 'UP').map((c) => `${c.client}/${c.interface} -> ${c.service}${c.id ? ' (reported, no echo reply)' : ' (not established)'}`);
      throw new Error(`connections not UP after ${(opts.timeoutMs + vmBootAllowanceMs(state.plan)) / 1000}s: ${down.join('; ')}; see logs in ${state.plan.logDir}`);
    }
    await sleep(300);
  }
}

/** Where the logs of a failed start are, and until when they stay. */
export function keptLogsNote(plan: MeshPlan): string {
  return `logs kept in ${plan.logDir}/ (removed by the next ${NSM_CMD} up of ${plan.name} or by ${NSM_CMD} down ${plan.name})`;
}
