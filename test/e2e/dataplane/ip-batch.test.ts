// E2E: the ip -batch channel: per-line error attribution, pipelining, respawn after death, one process;
// an `ip -6` channel for IPv6 rules (a batch line cannot say -6).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import { execFileSync } from 'node:child_process';
import { IpBatchChannel, IpBatchPool, IpCommandError } from '../../../src/dataplane/index.js';
import { createTestNetns } from '../helpers/netns.js';

test('errors are attributed to lines; many commands share one process', async (t) => {
  const ch = new IpBatchChannel({ kind: 'host' });
  t.after(() => ch.close());
  const res = await ch.runAll(['link show dev lo', 'link show dev nsm-nope0', 'link show dev lo']);
  assert.deepEqual(res.map((r) => r.ok), [true, false, true]);
  assert.match(res[1]!.error!, /nsm-nope0/);
  const pid = ch.pid;
  const all = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => ch.run(i % 7 === 3 ? 'link show dev nsm-nope1' : 'link show dev lo')));
  all.forEach((r, i) => assert.equal(r.status, i % 7 === 3 ? 'rejected' : 'fulfilled', `command ${i}`));
  assert.equal(ch.pid, pid, 'no respawn');
  await assert.rejects(ch.run('link show dev lo # x'), InvalidArgumentError);
});

test('a command that kills ip fails alone; queued commands are replayed on a new process', async (t) => {
  const ch = new IpBatchChannel({ kind: 'host' });
  t.after(() => ch.close());
  await ch.run('link show dev lo');
  const pid = ch.pid;
  const bad = ch.run('link set dev lo mtu abc'); // ip exits on a parse error
  const next = ch.run('link show dev lo');
  await assert.rejects(bad, (e: Error) => e instanceof IpCommandError && /mtu/.test(e.message));
  await next;
  assert.notEqual(ch.pid, pid);
});

test('a namespace that does not exist fails the command with ip\'s error', async (t) => {
  const ch = new IpBatchChannel({ kind: 'named', name: 'nsm-e2e-no-such-ns' });
  t.after(() => ch.close());
  await assert.rejects(ch.run('link show dev lo'), (e: Error) => e instanceof IpCommandError && /nsm-e2e-no-such-ns/.test(e.message));
});

test('a rule without an address is IPv4 on a plain channel and IPv6 only on an `ip -6` one', async (t) => {
  const [ns] = await createTestNetns(t, 'rule6');
  const pool = new IpBatchPool();
  t.after(() => pool.closeAll());
  const v4 = pool.get({ kind: 'named', name: ns });
  const v6 = pool.get({ kind: 'named', name: ns }, undefined, 6);
  assert.notEqual(v4, v6);
  await v4.run('rule add pref 1000 iif lo table 100');
  await assert.rejects(v4.run('rule add pref 1001 from 2001:db8::/32 table 100'), /Invalid source address/);
  await v6.run(['rule add pref 1001 iif lo table 100', 'route add ::/0 dev lo table 100']);
  const rules6 = execFileSync('ip', ['-n', ns, '-6', 'rule'], { encoding: 'utf8' });
  assert.match(rules6, /1001:\s+from all iif lo lookup 100/);
  assert.doesNotMatch(rules6, /^1000:/m);
  await v6.run(['rule del pref 1001 iif lo table 100', 'route flush table 100']);
  assert.doesNotMatch(execFileSync('ip', ['-n', ns, '-6', 'route', 'show', 'table', '100'], { encoding: 'utf8' }), /dev lo/);
});

test('commands issued in one tick go to ip in one write; each still gets its own outcome', async (t) => {
  const ch = new IpBatchChannel({ kind: 'host' });
  t.after(() => ch.close());
  await ch.run('link show dev lo');
  const stdin = (ch as unknown as { proc: { stdin: { write: (s: string) => boolean } } }).proc.stdin;
  const writes: string[] = [];
  const orig = stdin.write.bind(stdin);
  stdin.write = (s: string) => (writes.push(s), orig(s));
  const all = await Promise.allSettled([ch.run('link show dev lo'), ch.run('link show dev nsm-nope2'), ch.run(['link show dev lo', 'link show dev lo'])]);
  assert.deepEqual(all.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal(writes.length, 1);
  await ch.run('link show dev lo');
  assert.equal(writes.length, 2, 'a later command is a write of its own');
});
