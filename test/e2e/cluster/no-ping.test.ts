// The README's quick start on a machine without a ping binary (issue 12): `nsm up examples/demo.yaml`
// in a private mount namespace where every ping binary is covered by an empty, non-executable file
// comes up with every connection UP (the mesh's checks are in-process ICMP); and when the checks
// cannot run at all (the FFI package hidden), `nsm up` says so at once in one line, creating nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { netnsWith } from '../helpers/cluster.js';
import { ROOT, ensureBuilt } from '../helpers/mesh.js';

const uid = process.getuid?.() ?? 1;

/** Runs `script` with sh in a private mount namespace (its bind mounts stay there), from the repo root. */
function inPrivateMounts(script: string, env: Record<string, string>, timeoutMs: number) {
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('quick start without ping: nsm up examples/demo.yaml comes up with every connection UP', { skip: uid !== 0 && 'needs root', timeout: 180_000 }, (t) => {
  ensureBuilt();
  const name = `t${process.pid}np`;
  const dir = mkdtempSync('/tmp/nsm-noping-');
  writeFileSync(`${dir}/empty`, '', { mode: 0o600 });
  t.after(() => {
    // Normally brought down inside the script; a crashed run leaves only its namespaces' files.
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });
  const script = `
    for p in /usr/bin/ping /bin/ping /usr/sbin/ping /sbin/ping; do [ -e "$p" ] && mount --bind "$EMPTY" "$p"; done
    if ping -c1 -W1 127.0.0.1 >/dev/null 2>&1; then echo "ping still works" >&2; exit 3; fi
    trap 'node bin/nsm.js down "$NAME" >/dev/null 2>&1' EXIT
    node bin/nsm.js up examples/demo.yaml --detach --name "$NAME" || exit 4
    echo '--- status'
    node bin/nsm.js status "$NAME" --json`;
  const r = inPrivateMounts(script, { NAME: name, EMPTY: `${dir}/empty` }, 170_000);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const status = JSON.parse(r.stdout.split('--- status\n')[1]!) as { connections: { client: string; state: string; path: string[] }[] };
  assert.equal(status.connections.length, 2);
  for (const c of status.connections) assert.equal(c.state, 'UP', JSON.stringify(c));
  assert.deepEqual(status.connections.map((c) => c.path.length).sort(), [4, 6], 'a local and a remote connection');
  assert.deepEqual(netnsWith(`${name}-`), [], 'nsm down left nothing');
  assert.ok(!existsSync(`/run/nsm/${name}`));
});

test('nsm up when the checks cannot run (FFI package missing): one line at once, exit 1, nothing created', { skip: uid !== 0 && 'needs root', timeout: 60_000 }, (t) => {
  ensureBuilt();
  const name = `t${process.pid}nf`;
  const dir = mkdtempSync('/tmp/nsm-noffi-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const t0 = Date.now();
  const r = inPrivateMounts('mount --bind "$EMPTY_DIR" node_modules/koffi && node bin/nsm.js up examples/demo.yaml --detach --name "$NAME"', { NAME: name, EMPTY_DIR: dir }, 50_000);
  const ms = Date.now() - t0;
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^nsm: up: cannot check connections: cannot load the FFI for ICMP sockets \(npm package koffi\)/);
  t.diagnostic(`reported after ${ms} ms`);
  assert.deepEqual(netnsWith(`${name}-`), [], 'failed before building anything (not after the 60 s connection timeout)');
  assert.ok(!existsSync(`/run/nsm/${name}`));
});
