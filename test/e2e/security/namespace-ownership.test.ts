// Namespace ownership proven by the kernel: the nsmgr reads the caller's pid from its unix socket
// (SO_PEERCRED). An unprivileged client (uid 65534, no capabilities) living in namespace A gets an
// interface in A but is refused one in namespace B, with a PERMISSION_DENIED naming inodeURL.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { Mesh, ROOT } from '../helpers/mesh.js';
import { createTestNetns } from '../helpers/netns.js';
import { oneNode } from '../helpers/one-node.js';

const execFileP = promisify(execFile);
const uid = process.getuid?.() ?? 1;

/** The client as an unprivileged process: asks for its own namespace, then for another one. */
const CLIENT = `
import { MeshClient } from ${JSON.stringify(join(ROOT, 'dist/components/client.js'))};
const [nsmgrUrl, own, other] = process.argv.slice(2);
const client = await MeshClient.create({ name: 'nsc-a', nsmgrUrl });
const out = {};
try {
  const conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-own', netnsUrl: 'file:///var/run/netns/' + own });
  out.own = 'ok';
  await client.close(conn);
} catch (err) { out.own = { code: err.code, details: err.details ?? err.message }; }
try {
  await client.request({ service: 'icmp-responder', ifname: 'nsm-other', netnsUrl: 'file:///var/run/netns/' + other });
  out.other = 'ok';
} catch (err) { out.other = { code: err.code, details: err.details ?? err.message }; }
await client.shutdown();
process.stdout.write(JSON.stringify(out) + '\\n');
process.exit(0);
`;

test('namespace ownership from SO_PEERCRED: an unprivileged client gets its own namespace, not another', { skip: uid !== 0 && 'needs root', timeout: 120_000 }, async (t) => {
  const [node, nse, a, b] = await createTestNetns(t, 'node', 'nse', 'a', 'b');
  const mesh = new Mesh(t);
  const { nsmgrUrl } = await oneNode(mesh, node);
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.0.0/16', netns: node });
  // The unprivileged client must reach the socket (its directory is the mesh's private one).
  chmodSync(mesh.dir, 0o755);
  chmodSync(nsmgrUrl.slice('unix://'.length), 0o666);
  const script = join(mesh.dir, 'client.mjs');
  writeFileSync(script, CLIENT);
  chmodSync(script, 0o644);
  const { stdout } = await execFileP('ip', ['netns', 'exec', a, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, script, nsmgrUrl, a, b], {
    env: { ...process.env, NSM_LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { own: unknown; other: { code: number; details: string } | 'ok' };
  assert.equal(out.own, 'ok', `own namespace: ${JSON.stringify(out.own)}`);
  assert.notEqual(out.other, 'ok', 'another namespace was granted');
  const other = out.other as { code: number; details: string };
  assert.equal(other.code, 7, `PERMISSION_DENIED expected: ${JSON.stringify(other)}`);
  assert.match(other.details, new RegExp(`namespace-ownership: mechanism parameter inodeURL "file:///var/run/netns/${b}" is not the caller's network namespace \\(pid \\d+, uid 65534`));
});
