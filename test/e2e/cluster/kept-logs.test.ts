// Logs of failed and interrupted `nsm up` runs stay (everything else goes) until the next `nsm up`
// of that name or `nsm down NAME`; the error names the logs dir, which exists. The scenario's
// warnings come first, before anything is built.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { alive, netnsWith, nsm } from '../helpers/cluster.js';
import { ROOT, ensureBuilt } from '../helpers/mesh.js';

const uid = process.getuid?.() ?? 1;

/** A one-node mesh whose only match selects no endpoint: the connection never comes UP. */
const scenario = (name: string, match: string) => `name: ${name}
nodes: [node-1]
services:
  - name: svc
    matches: [${match}]
endpoints:
  - { name: nse-1, node: node-1, kind: icmp-responder, services: [svc], cidr: 169.254.1.0/24, labels: { app: icmp } }
clients:
  - { name: nsc-1, node: node-1, requests: ["kernel://svc/nsm-1?app=nsc"] }
`;

function cleanup(t: { after: (fn: () => void) => void }, name: string, dir: string): void {
  t.after(() => {
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(`/run/nsm/${name}`, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });
}

test('nsm up: a failed start keeps its logs until nsm down NAME; the next nsm up starts afresh', { skip: uid !== 0 && 'needs root', timeout: 180_000 }, (t) => {
  ensureBuilt();
  const name = `t${process.pid}k`;
  const dir = mkdtempSync('/tmp/nsm-kept-logs-');
  cleanup(t, name, dir);
  const file = `${dir}/never.yaml`;
  writeFileSync(file, scenario(name, '{ source_selector: { app: nsc }, routes: [{ destination_selector: { app: nope } }] }'));

  const r = nsm('up', file, '--timeout', '3s');
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0]!, new RegExp(`^nsm: warning: ${file}:5: services\\[0\\]\\.matches\\[0\\]: can never select an endpoint`), 'the warning comes first');
  assert.ok(r.stdout.indexOf('registry') > 0, 'and the mesh is built anyway');
  // The client either fails its request (and exits) or is still without a connection when the 3 s are up.
  assert.match(r.stderr, /nsm: up: (connections not UP after 3s: nsc-1\/nsm-1 -> svc \(not established\)|nsc-1 exited: .*no endpoint of network service "svc" matches its policy)/);
  const logDir = `/run/nsm/${name}/logs`;
  assert.match(r.stderr, new RegExp(`nsm: up: logs kept in ${logDir}/ \\(removed by the next npx nsm up of ${name} or by npx nsm down ${name}\\)`));
  assert.ok(existsSync(`${logDir}/nsc-1.log`), 'the client log is kept');
  assert.ok(existsSync(`${logDir}/registry.log`));
  assert.deepEqual(readdirSync(`/run/nsm/${name}`), ['logs'], 'only the logs stay (no state, sockets)');
  assert.deepEqual(netnsWith(`${name}-`), [], 'no namespace left');

  const st = nsm('status', name);
  assert.equal(st.code, 1);
  const down = nsm('down', name);
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stdout, new RegExp(`removed the logs kept from its failed start \\(${logDir}\\)`));
  assert.ok(!existsSync(`/run/nsm/${name}`));
  assert.match(nsm('down', name).stdout, /not up; nothing to do/);

  // Kept logs of a failed start are replaced by the next nsm up of the name.
  assert.equal(nsm('up', file, '--timeout', '2s').code, 1);
  assert.ok(existsSync(`${logDir}/nsc-1.log`));
  writeFileSync(file, scenario(name, '{ source_selector: { app: nsc }, routes: [{ destination_selector: { app: icmp } }] }'));
  const up = nsm('up', file, '--detach');
  assert.equal(up.code, 0, up.stdout + up.stderr);
  assert.doesNotMatch(up.stderr, /warning/);
  assert.ok(readdirSync(`/run/nsm/${name}`).includes('state.json'));
  assert.equal(nsm('down', name).code, 0);
});

test('nsm up: an interrupted start (SIGINT) keeps its logs', { skip: uid !== 0 && 'needs root', timeout: 120_000 }, async (t) => {
  ensureBuilt();
  const name = `t${process.pid}i`;
  const dir = mkdtempSync('/tmp/nsm-kept-logs-');
  cleanup(t, name, dir);
  const file = `${dir}/int.yaml`;
  writeFileSync(file, scenario(name, '{ source_selector: { app: nsc }, routes: [{ destination_selector: { app: icmp } }] }'));
  const child = spawn(process.execPath, ['bin/nsm.js', 'up', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let sent = false;
  child.stderr.on('data', (d) => (err += String(d)));
  const code = await new Promise<number | null>((resolve) => {
    child.stdout.on('data', (d) => {
      out += String(d);
      if (!sent && /registry\s+registry ready/.test(out)) {
        sent = true;
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGINT'), 100); // a second Ctrl-C does not cut the teardown short
      }
    });
    child.once('exit', (c) => resolve(c));
  });
  assert.equal(code, 1, out + err);
  assert.match(err, /nsm: up: interrupted\n/);
  assert.match(err, /logs kept in /);
  assert.ok(existsSync(`/run/nsm/${name}/logs/registry.log`));
  assert.deepEqual(netnsWith(`${name}-`), []);
  assert.ok(!alive(child.pid!));
});
