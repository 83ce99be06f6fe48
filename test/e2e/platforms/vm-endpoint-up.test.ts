// E2E (real qemu, one TCG boot): `nsm up examples/vm-endpoint.yaml`: a namespace client on node-1 pings
// an icmp-responder on node-2 whose workload is a VM, over VXLAN: the guest answers (the client's
// neighbour entry is the guest's MAC; the connection's interface is an isolated bridge port); SIGKILL of the
// endpoint-side forwarder stops the pings for no more than 2 s; a Close (client stopped) takes the
// addresses out of the guest while the VM keeps running, and the restarted client is answered again;
// `nsm down` leaves no qemu, tap or namespace.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sweepQemus, taggedQemus, vmTagPrefix } from '../../../src/platforms/vm/qemu.js';
import { guestMac } from '../../../src/platforms/vm/endpoint-runner.js';
import { ensureBuilt, ROOT, waitFor } from '../helpers/mesh.js';
import { alive, netnsWith, nsm } from '../helpers/cluster.js';

interface Status {
  workloads: { name: string; runtime: string; vm?: string; console?: string; netns: string }[];
  connections: { client: string; state: string; srcIp: string; dstIp: string; remoteMechanism?: string }[];
}
interface State {
  procs: Record<string, { pid: number; restarts: number }>;
}

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const host = (cidr: string) => cidr.split('/')[0]!;

/** The connection interfaces (alias nsm:...) of a namespace: their bridge and whether they are isolated ports. */
function connectionPorts(netns: string): { master?: string; isolated?: boolean }[] {
  const links = JSON.parse(execFileSync('ip', ['-n', netns, '-j', '-d', 'link', 'show'], { encoding: 'utf8' })) as { ifalias?: string; master?: string; linkinfo?: { info_slave_data?: { isolated?: boolean } } }[];
  return links.filter((l) => l.ifalias?.startsWith('nsm:')).map((l) => ({ ...(l.master ? { master: l.master } : {}), ...(l.linkinfo?.info_slave_data?.isolated !== undefined ? { isolated: l.linkinfo.info_slave_data.isolated } : {}) }));
}

/** Pings `dst` from `netns` every 0.2 s for `seconds`; resolves with the reply times (ms). */
function pingTimes(netns: string, dst: string, seconds: number): Promise<number[]> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', netns, 'ping', '-D', '-n', '-i', '0.2', '-W', '1', '-w', String(seconds), dst], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', () => resolve([...out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000)));
  });
}

test('VM endpoint answers a namespace client over VXLAN; endpoint-side forwarder SIGKILL: no gap over 2 s; Close leaves the VM running; down leaves nothing', { skip: (process.getuid?.() !== 0 && 'needs root') || (!haveQemu && 'needs qemu-system-x86 (scripts/install-deps.sh)'), timeout: 900_000 }, async (t) => {
  ensureBuilt();
  const name = `ve${process.pid % 100000}`;
  t.after(async () => {
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
    await sweepQemus(vmTagPrefix(name));
  });
  // A TCG boot on a loaded host can take minutes.
  const up = spawnSync(process.execPath, ['bin/nsm.js', 'up', 'examples/vm-endpoint.yaml', '--detach', '--name', name], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  assert.equal(up.status, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  t.diagnostic(up.stdout.split('\n').filter((l) => /VM|vm |UP after/.test(l)).join(' | '));

  const status = JSON.parse(nsm('status', name, '--json').stdout) as Status;
  const w = status.workloads.find((x) => x.name === 'nse-1')!;
  assert.equal(w.runtime, 'vm');
  assert.equal(w.vm, `nsm-ts:${name}:nse-1`);
  const conn = status.connections.find((c) => c.client === 'nsc-1')!;
  assert.equal(conn.state, 'UP', JSON.stringify(conn));
  assert.equal(conn.remoteMechanism, 'VXLAN');
  const qemus = await taggedQemus(vmTagPrefix(name));
  assert.equal(qemus.length, 1, 'one tagged qemu');

  // The guest answers: the client resolved the endpoint address to the guest's MAC; the connection's
  // interface in the endpoint namespace is an isolated port of the bridge that holds the VM's tap.
  const clientNs = `${name}-nsc-1`;
  assert.deepEqual(connectionPorts(w.netns), [{ master: 'vmbr0', isolated: true }]);
  assert.match(readFileSync(w.console!, 'utf8'), new RegExp(`nsm-vm: A ${conn.dstIp.replace(/[./]/g, '\\$&')} .*-> 0`));
  assert.ok((await pingTimes(clientNs, host(conn.dstIp), 1)).length > 0, 'echo replies');
  const neigh = execFileSync('ip', ['-n', clientNs, 'neigh', 'show', host(conn.dstIp)], { encoding: 'utf8' });
  assert.match(neigh, new RegExp(`lladdr ${guestMac(w.vm)}`), `the guest answers (neighbour: ${neigh.trim()})`);

  // SIGKILL the endpoint-side forwarder while the client pings every 0.2 s.
  const stateFile = `/run/nsm/${name}/state.json`;
  const fwd = (JSON.parse(readFileSync(stateFile, 'utf8')) as State).procs['forwarder-node-2']!.pid;
  const pinging = pingTimes(clientNs, host(conn.dstIp), 12);
  await sleep(2000);
  const killedAt = Date.now();
  process.kill(fwd, 'SIGKILL');
  const times = await pinging;
  const restarted = (JSON.parse(readFileSync(stateFile, 'utf8')) as State).procs['forwarder-node-2']!;
  assert.ok(restarted.restarts >= 1 && alive(restarted.pid), 'forwarder restarted');
  const after = times.filter((x) => x >= killedAt - 1000);
  let maxGap = 0;
  for (let i = 1; i < after.length; i++) maxGap = Math.max(maxGap, after[i]! - after[i - 1]!);
  t.diagnostic(`endpoint-side forwarder SIGKILL: ${after.length} replies in the ${((times.at(-1)! - killedAt) / 1000).toFixed(1)} s after, longest gap ${Math.round(maxGap)} ms`);
  assert.ok(after.length >= 20, `replies after the kill: ${after.length}`);
  assert.ok(maxGap <= 2000, `pings stopped for ${Math.round(maxGap)} ms`);

  // Close: SIGTERM the client (it closes its connection); the guest drops the address, the VM keeps running.
  const nsc = (JSON.parse(readFileSync(stateFile, 'utf8')) as State).procs['nsc-1']!.pid;
  process.kill(nsc, 'SIGTERM');
  await waitFor('the guest to drop the closed connection\'s address', () => new RegExp(`nsm-vm: a ${conn.dstIp.replace(/[./]/g, '\\$&')} .*-> 0`).test(readFileSync(w.console!, 'utf8')), 120_000, 500);
  assert.deepEqual((await taggedQemus(vmTagPrefix(name))).map((q) => q.pid), qemus.map((q) => q.pid), 'the same qemu runs on');
  // The supervisor restarts the client: its new connection is answered by the same guest.
  await waitFor('the restarted client to be UP', () => {
    const s = JSON.parse(nsm('status', name, '--json').stdout) as Status;
    return s.connections.find((c) => c.client === 'nsc-1')?.state === 'UP';
  }, 180_000, 1000);

  const down = nsm('down', name);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await taggedQemus(vmTagPrefix(name)), [], 'qemu left');
  assert.deepEqual(netnsWith(`${name}-`), [], 'namespaces left (and with them the bridge and tap)');
  assert.equal(existsSync(`/run/nsm/${name}`), false, 'run dir left');
});
