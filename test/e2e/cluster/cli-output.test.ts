// The CLI's output as a user meets it: `nsm status NAME | head -1` ends quietly (EPIPE handled on
// stdout for every command), `nsm status` of a mesh whose supervisor died does not say "up", and a
// wrong socket is one readable line naming the URL (not grpc-js's raw text). No root needed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { planMesh } from '../../../src/cluster/plan.js';
import { parseScenario } from '../../../src/cluster/scenario.js';
import { writeState } from '../../../src/cluster/state.js';
import { ROOT, ensureBuilt } from '../helpers/mesh.js';

const DEAD = { pid: 2 ** 22 + 1, startTime: 1 }; // above pid_max: never alive

/** A run root with a recorded "up" mesh whose supervisor has died. */
async function fakeMesh(t: { after: (fn: () => void) => void }): Promise<{ root: string; name: string }> {
  const root = mkdtempSync(join(tmpdir(), 'nsm-cli-out-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const saved = process.env.NSM_RUN_ROOT;
  process.env.NSM_RUN_ROOT = root;
  try {
    const name = 'fake';
    const plan = planMesh(parseScenario(`name: ${name}\nnodes: [node-1]\n`), 'fake.yaml');
    mkdirSync(plan.logDir, { recursive: true });
    await writeState({ version: 1, phase: 'up', createdAt: new Date().toISOString(), plan, procs: {}, supervisor: DEAD });
    return { root, name };
  } finally {
    if (saved === undefined) delete process.env.NSM_RUN_ROOT;
    else process.env.NSM_RUN_ROOT = saved;
  }
}

test('cli: a closed stdout (| head -1) ends the command quietly, exit 0', async (t) => {
  ensureBuilt();
  const { root, name } = await fakeMesh(t);
  for (const args of [['status', name], ['status', name, '--json'], ['--help']]) {
    const child = spawn(process.execPath, ['bin/nsm.js', ...args], { cwd: ROOT, env: { ...process.env, NSM_RUN_ROOT: root }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader went away before the first line
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `nsm ${args.join(' ')}: ${err}`);
    assert.doesNotMatch(err, /EPIPE|Unhandled|at /, `nsm ${args.join(' ')}`);
  }
  // The shell form of the same.
  const r = spawnSync('sh', ['-c', `node bin/nsm.js status ${name} | head -1`], { cwd: ROOT, env: { ...process.env, NSM_RUN_ROOT: root }, encoding: 'utf8' });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.split('\n').length, 2);
});

test('cli: nsm status of a mesh whose supervisor died says nothing restarts components', async (t) => {
  ensureBuilt();
  const { root, name } = await fakeMesh(t);
  const r = spawnSync(process.execPath, ['bin/nsm.js', 'status', name], { cwd: ROOT, env: { ...process.env, NSM_RUN_ROOT: root }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const first = r.stdout.split('\n')[0]!;
  assert.doesNotMatch(first, /: up\b/);
  assert.match(first, new RegExp(`its supervisor \\(pid ${DEAD.pid}\\) has died: nothing restarts components any more \\(npx nsm down ${name} removes the mesh\\)`));
  const json = spawnSync(process.execPath, ['bin/nsm.js', 'status', name, '--json'], { cwd: ROOT, env: { ...process.env, NSM_RUN_ROOT: root }, encoding: 'utf8' });
  assert.equal((JSON.parse(json.stdout) as { phase: string }).phase, 'unsupervised');
});

test('cli: a wrong socket is one readable line naming the URL', () => {
  ensureBuilt();
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/nsm.js', ...args], { cwd: ROOT, env: { ...process.env, NSM_LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000 });
  const nsc = run('nsc', '--nsmgr', 'unix:///tmp/nsm-no-such.sock', 'kernel://svc/nsm-1', '--once');
  assert.equal(nsc.status, 1);
  assert.equal(nsc.stderr, 'nsm: nsc: request failed: unix:///tmp/nsm-no-such.sock: cannot connect: no socket at /tmp/nsm-no-such.sock\n');
  const ns = run('ns', 'register', '--registry', 'tcp://127.0.0.1:1', '--name', 'x');
  assert.equal(ns.status, 1);
  assert.equal(ns.stderr, 'nsm: ns register: tcp://127.0.0.1:1: cannot connect: nothing listens on 127.0.0.1:1\n');
});
