// E2E: the ip -batch channel: per-line error attribution, pipelining, respawn after death, one process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import { IpBatchChannel, IpCommandError } from '../../../src/dataplane/index.js';

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
