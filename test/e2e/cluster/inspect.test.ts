// CLI inspection of a running mesh: `nsm get services|endpoints|connections` (a connection made
// outside `nsm up` included), `nsm describe connection` (path, token expiry, counters), `nsm logs`
// (readable lines) and `nsm status --watch --json` (a new line when a component restarts).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { ensureBuilt, ROOT, waitFor } from '../helpers/mesh.js';
import { netnsWith, nsm } from '../helpers/cluster.js';

const uid = process.getuid?.() ?? 1;

/** Starts `nsm ARGS` in the background; its stdout lines are collected. */
function background(args: string[]): { proc: ChildProcessWithoutNullStreams; lines: string[] } {
  const proc = spawn(process.execPath, ['bin/nsm.js', ...args], { cwd: ROOT, env: { ...process.env, NSM_LOG_LEVEL: 'warn' } });
  const lines: string[] = [];
  createInterface({ input: proc.stdout }).on('line', (l) => lines.push(l));
  proc.stderr.resume();
  return { proc, lines };
}

test('nsm get / describe / logs / status --watch on the demo mesh', { skip: uid !== 0 && 'needs root', timeout: 240_000 }, async (t) => {
  ensureBuilt();
  const name = `ins${process.pid % 10000}`;
  const kids: ChildProcessWithoutNullStreams[] = [];
  t.after(() => {
    for (const k of kids) k.kill('SIGKILL');
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
  });
  // Components log at info (the test runner may have silenced logs): `nsm logs` needs lines to show.
  const level = process.env.NSM_LOG_LEVEL;
  process.env.NSM_LOG_LEVEL = 'info';
  const up = nsm('up', 'examples/demo.yaml', '--detach', '--name', name);
  if (level === undefined) delete process.env.NSM_LOG_LEVEL;
  else process.env.NSM_LOG_LEVEL = level;
  assert.equal(up.code, 0, `nsm up failed:\n${up.stdout}\n${up.stderr}`);

  const services = nsm('get', 'services', '--mesh', name);
  assert.equal(services.code, 0, services.stderr);
  assert.match(services.stdout, /^NAME\s+PAYLOAD\s+MATCHES\nlocal-ping\s+ETHERNET\s+0\nremote-ping\s+ETHERNET\s+0\n$/);
  const endpoints = JSON.parse(nsm('get', 'endpoints', '--mesh', name, '-o', 'json').stdout) as { name: string; networkServiceNames: string[] }[];
  assert.deepEqual(endpoints.map((e) => [e.name, e.networkServiceNames]), [['nse-a', ['local-ping']], ['nse-b', ['remote-ping']]]);

  // A client started by hand (not by nsm up) into a namespace of its own, through node-2's nsmgr.
  const extraNs = `${name}-extra`;
  assert.equal(spawnSync('ip', ['netns', 'add', extraNs]).status, 0);
  const outside = background(['nsc', '--name', 'by-hand', '--netns', extraNs, '--nsmgr', `unix:///run/nsm/${name}/sock/nsmgr-node-2.sock`, 'kernel://remote-ping/nsm-9?app=hand']);
  kids.push(outside.proc);
  await waitFor('the hand-made connection', () => outside.lines.some((l) => l.includes('"state":"UP"') || l.startsWith('{')), 30_000);
  const handId = (JSON.parse(outside.lines.find((l) => l.startsWith('{'))!) as { id: string }).id;

  const conns = JSON.parse(nsm('get', 'connections', '--mesh', name, '-o', 'json').stdout) as { id: string; connection: { path: { pathSegments: { name: string }[] } } }[];
  const clients = conns.map((c) => c.connection.path.pathSegments[0]!.name).sort();
  assert.deepEqual(clients, ['by-hand', 'nsc-1', 'nsc-2']);
  const wide = nsm('get', 'connections', '--mesh', name, '-o', 'wide').stdout;
  assert.match(wide, /by-hand\s+remote-ping\s+nse-b\s+UP\s+KERNEL\s+\S+\s+\S+\s+by-hand > nsmgr-node-2 > forwarder-node-2 > nse-b/);
  assert.match(wide, /nsc-2\s+remote-ping\s+nse-b\s+UP\s+KERNEL\s+\S+\s+\S+\s+nsc-2 > nsmgr-node-1 > forwarder-node-1 > nsmgr-node-2 > forwarder-node-2 > nse-b/);

  const d = nsm('describe', 'connection', handId, '--mesh', name);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /Service:\s+remote-ping/);
  assert.match(d.stdout, /0\s+by-hand\s+\S+\s+\d{4}-\d\d-\d\dT\S+Z\s+\d+s/);
  assert.match(d.stdout, /forwarder-node-2: nsm-9_drops=\d+ nsm-9_rx_bytes=\d+ nsm-9_rx_packets=\d+ nsm-9_tx_bytes=\d+ nsm-9_tx_packets=\d+/);
  const missing = nsm('describe', 'connection', 'no-such-id', '--mesh', name);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no connection with id "no-such-id"/);
  assert.equal(nsm('get', 'pods', '--mesh', name).code, 2);

  const logs = nsm('logs', name, 'forwarder-node-2');
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}forwarder-node-2 \[[0-9a-f-]+\] data plane programmed links=/m);
  assert.equal(nsm('logs', name, 'nope').code, 2);

  outside.proc.kill('SIGTERM');
  await waitFor('the hand-made client to close', () => outside.proc.exitCode !== null, 20_000);

  // status --watch --json: one line now, another when a component restarts (the supervisor restarts nsc-1).
  const watch = background(['status', name, '--watch', '--json']);
  kids.push(watch.proc);
  await waitFor('the first status line', () => watch.lines.length >= 1, 30_000);
  const first = JSON.parse(watch.lines[0]!) as { phase: string; components: { name: string; pid: number; restarts: number }[] };
  assert.equal(first.phase, 'up');
  process.kill(first.components.find((c) => c.name === 'nsc-1')!.pid, 'SIGKILL');
  await waitFor(
    'a status line showing the restart',
    () => watch.lines.some((l) => (JSON.parse(l) as typeof first).components.find((c) => c.name === 'nsc-1')!.restarts >= 1),
    30_000,
  );
  watch.proc.kill('SIGINT');
  await waitFor('status --watch to end on SIGINT', () => watch.proc.exitCode !== null, 10_000);
});
