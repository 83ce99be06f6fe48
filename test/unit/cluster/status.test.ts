// nsm status's headline: an up mesh whose supervisor died says nothing restarts components any more.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meshPhase, statusHeadline } from '../../../src/cluster/status.js';

const dead = { pid: 2 ** 22 + 1, startTime: 1 }; // above pid_max: never alive
const self = { pid: process.pid, startTime: 0 };

test('status: phase of an up mesh follows its supervisor', () => {
  assert.equal(meshPhase({ phase: 'up', supervisor: dead }), 'unsupervised');
  assert.equal(meshPhase({ phase: 'up' }), 'unsupervised');
  assert.equal(meshPhase({ phase: 'starting' }), 'starting');
  assert.equal(meshPhase({ phase: 'stopping', supervisor: dead }), 'stopping');
});

test('status: headline for a supervised and an unsupervised mesh', () => {
  const base = { name: 'demo', file: 'examples/demo.yaml', runDir: '/run/nsm/demo' };
  assert.equal(
    statusHeadline({ ...base, phase: 'up', supervisor: { pid: 42, state: 'running' } }),
    'mesh demo (examples/demo.yaml): up; supervisor pid 42 running; run dir /run/nsm/demo',
  );
  const line = statusHeadline({ ...base, phase: 'unsupervised', supervisor: { pid: 42, state: 'stopped' } });
  assert.equal(
    line,
    'mesh demo (examples/demo.yaml): components left running, but its supervisor (pid 42) has died: nothing restarts components any more (npx nsm down demo removes the mesh); run dir /run/nsm/demo',
  );
  assert.doesNotMatch(line, /: up\b/);
});

test('status: isAlive sees this process (startTime from /proc)', async () => {
  const { procStartTime } = await import('../../../src/cluster/proc.js');
  assert.equal(meshPhase({ phase: 'up', supervisor: { ...self, startTime: procStartTime(process.pid) ?? 0 } }), 'up');
});
