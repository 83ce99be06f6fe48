// E2E (real qemu, one TCG boot): `nsm up examples/vm.yaml`: a VM client on node-1 whose NIC is its
// VXLAN connection pings an icmp-responder on node-2 from inside the guest (serial console); SIGKILL of
// the client's forwarder leaves no gap over 2 s in the guest's replies; `nsm down` leaves no qemu,
// tap or namespace.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sweepQemus, taggedQemus, vmTagPrefix } from '../../../src/platforms/vm/qemu.js';
import { PING_REPLY } from '../../../src/platforms/vm/guest-config.js';
import { ensureBuilt, ROOT } from '../helpers/mesh.js';
import { alive, netnsWith, nsm } from '../helpers/cluster.js';

interface Status {
  workloads: { name: string; runtime: string; vm?: string; console?: string; netns: string }[];
  connections: { client: string; state: string; srcIp: string; dstIp: string; remoteMechanism?: string }[];
}

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

/** [time ms, seq] of every echo reply the guest printed. */
function replies(consoleFile: string): [number, number][] {
  return readFileSync(consoleFile, 'utf8').trim().split('\n')
    .map((l) => [Date.parse(l.slice(0, l.indexOf(' '))), PING_REPLY.exec(l)] as const)
    .filter((x): x is [number, RegExpExecArray] => x[1] !== null)
    .map(([t, m]) => [t, Number(m[2])]);
}

test('VM client pings over VXLAN from inside the guest; forwarder SIGKILL: no gap over 2 s; down leaves nothing', { skip: (process.getuid?.() !== 0 && 'needs root') || (!haveQemu && 'needs qemu-system-x86 (scripts/install-deps.sh)'), timeout: 600_000 }, async (t) => {
  ensureBuilt();
  const name = `vm${process.pid % 100000}`;
  t.after(async () => {
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
    await sweepQemus(vmTagPrefix(name));
  });
  // A TCG boot on a loaded host can take minutes: no 120 s cap here.
  const up = spawnSync(process.execPath, ['bin/nsm.js', 'up', 'examples/vm.yaml', '--detach', '--name', name], { cwd: ROOT, encoding: 'utf8', timeout: 420_000 });
  assert.equal(up.status, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);
  t.diagnostic(up.stdout.split('\n').filter((l) => /VM|UP after/.test(l)).join(' | '));

  const status = JSON.parse(nsm('status', name, '--json').stdout) as Status;
  const w = status.workloads.find((x) => x.name === 'vm-1')!;
  assert.equal(w.runtime, 'vm');
  assert.equal(w.vm, `nsm-ts:${name}:vm-1`);
  const conn = status.connections.find((c) => c.client === 'vm-1')!;
  assert.equal(conn.state, 'UP', JSON.stringify(conn));
  assert.equal(conn.remoteMechanism, 'VXLAN');
  assert.equal((await taggedQemus(vmTagPrefix(name))).length, 1, 'one tagged qemu');

  // The guest holds the connection's address; the namespace keeps the interface but no address.
  const consoleText = readFileSync(w.console!, 'utf8');
  assert.match(consoleText, new RegExp(`nsm-vm: eth0 \\S+ addrs=${conn.srcIp.replace(/[./]/g, '\\$&')}`));
  assert.ok(replies(w.console!).length > 0, 'the guest got echo replies');
  const nsAddrs = execFileSync('ip', ['-n', w.netns, '-o', 'addr', 'show', 'dev', 'nsm-1', 'scope', 'global'], { encoding: 'utf8' });
  assert.equal(nsAddrs.trim(), '', 'no address left in the namespace');

  // SIGKILL the client's forwarder; the supervisor restarts it; the guest's pings go on.
  const state = JSON.parse(readFileSync(`/run/nsm/${name}/state.json`, 'utf8')) as { procs: Record<string, { pid: number }> };
  const fwd = state.procs['forwarder-node-1']!.pid;
  const killedAt = Date.now();
  process.kill(fwd, 'SIGKILL');
  // Until the supervisor has restarted the forwarder, then 6 s more of the guest's pings (past the heal
  // through the new forwarder), and at least 20 replies since the kill; at most 12 s after the restart.
  const fwdState = () => (JSON.parse(readFileSync(`/run/nsm/${name}/state.json`, 'utf8')) as { procs: Record<string, { pid: number; restarts: number }> }).procs['forwarder-node-1']!;
  let restartedAt = 0;
  for (const until = Date.now() + 30_000; Date.now() < until; await sleep(200)) {
    const f = fwdState();
    if (!restartedAt && f.restarts >= 1 && alive(f.pid)) restartedAt = Date.now();
    const enough = replies(w.console!).filter(([at]) => at >= killedAt - 1000).length >= 20;
    if (restartedAt && ((Date.now() - restartedAt >= 6000 && enough) || Date.now() - restartedAt >= 12_000)) break;
  }
  const restarted = fwdState();
  assert.ok(restarted.restarts >= 1 && alive(restarted.pid), 'forwarder restarted');
  const window = replies(w.console!).filter(([at]) => at >= killedAt - 1000);
  assert.ok(window.length >= 20, `replies after the kill: ${window.length}`);
  let maxGap = 0;
  for (let i = 1; i < window.length; i++) maxGap = Math.max(maxGap, window[i]![0] - window[i - 1]![0]);
  const lastAt = window.at(-1)![0];
  maxGap = Math.max(maxGap, window[0]![0] - killedAt, Date.now() - lastAt > 2000 ? Date.now() - lastAt : 0);
  t.diagnostic(`forwarder SIGKILL: ${window.length} replies in ${((lastAt - killedAt) / 1000).toFixed(1)} s, longest gap ${maxGap} ms`);
  assert.ok(maxGap <= 2000, `pings stopped for ${maxGap} ms`);

  const down = nsm('down', name);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await taggedQemus(vmTagPrefix(name)), [], 'qemu left');
  assert.deepEqual(netnsWith(`${name}-`), [], 'namespaces left (and with them the tap)');
  assert.equal(existsSync(`/run/nsm/${name}`), false, 'run dir left');
});
