import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailedPreconditionError } from '../../../src/api/errors.js';
import { isNodeNetns, refuseNodeNetns } from '../../../src/dataplane/node-netns-guard.js';

const INIT_PID = 0xeffffffc;
const fakeStat = (table: Record<string, [number, number]>) => (path: string) => {
  const e = table[path];
  return e ? { dev: e[0], ino: e[1] } : undefined;
};

test('the node namespace is refused when this process sees the node pid 1', () => {
  const stat = fakeStat({ '/proc/self/ns/pid': [4, INIT_PID], '/proc/1/ns/net': [4, 100], '/run/netns/x': [4, 100] });
  assert.equal(isNodeNetns('/run/netns/x', stat), true);
  assert.throws(() => refuseNodeNetns('/run/netns/x', 'forwarding', stat), (err: unknown) => err instanceof FailedPreconditionError && /--netns/.test(err.message));
});

test('another namespace is allowed', () => {
  const stat = fakeStat({ '/proc/self/ns/pid': [4, INIT_PID], '/proc/1/ns/net': [4, 100], '/run/netns/y': [4, 200] });
  assert.equal(isNodeNetns('/run/netns/y', stat), false);
  assert.doesNotThrow(() => refuseNodeNetns('/run/netns/y', 'forwarding', stat));
});

test('inside a pid namespace (a pod), pid 1 is the workload: its namespace is allowed', () => {
  const stat = fakeStat({ '/proc/self/ns/pid': [4, 4026532000], '/proc/1/ns/net': [4, 100], '/run/netns/x': [4, 100] });
  assert.equal(isNodeNetns('/run/netns/x', stat), false);
});

test('pid 1 out of reach: nothing to compare, allowed', () => {
  const stat = fakeStat({ '/proc/self/ns/pid': [4, INIT_PID], '/run/netns/x': [4, 100] });
  assert.equal(isNodeNetns('/run/netns/x', stat), false);
});
