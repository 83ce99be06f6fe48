// E2E: a vL3 DNS responder in one namespace forwards names outside its zone to an upstream resolver
// (a tiny DNS server in a second test namespace, reached over a veth), answers its zone itself, and
// answers SERVFAIL when the upstream is silent. No traffic leaves the two namespaces.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { startVl3Dns } from '../../../src/dataplane/dns/vl3-dns.js';
import { createTestNetns } from '../helpers/netns.js';
import { ROOT } from '../helpers/mesh.js';

const root = process.getuid?.() === 0;

/** Runs in the upstream namespace: serves example.test A 198.18.7.7 on :5353, then asks the responder. */
const script = `
const dgram = require('node:dgram'); const p = require('dns-packet');
const srv = dgram.createSocket('udp4');
srv.on('message', (m, r) => { const q = p.decode(m); srv.send(p.encode({ type: 'response', id: q.id, flags: p.RECURSION_DESIRED | p.RECURSION_AVAILABLE,
  questions: q.questions, answers: [{ type: 'A', name: q.questions[0].name, ttl: 30, class: 'IN', data: '198.18.7.7' }] }), r.port, r.address); });
const ask = (name) => new Promise((res) => { const s = dgram.createSocket('udp4'); s.on('message', (m) => { s.close(); const a = p.decode(m);
  res({ name, rcode: a.flags & 15, id: a.id, answers: (a.answers || []).map((x) => x.data) }); });
  s.send(p.encode({ type: 'query', id: 4242, flags: p.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] }), 5300, '169.254.53.1'); });
srv.bind(5353, '169.254.53.2', async () => { const out = [await ask('example.test'), await ask('nsc-9.vl3-net')]; srv.close();
  out.push(await ask('silent.test')); console.log(JSON.stringify(out)); });`;

test('vl3 dns forwards names outside the zone to its upstream', { skip: !root && 'needs root' }, async (t) => {
  const [inst, up] = await createTestNetns(t, 'dnsi', 'dnsu');
  execFileSync('ip', ['link', 'add', 'dv-i', 'netns', inst, 'type', 'veth', 'peer', 'name', 'dv-u', 'netns', up]);
  for (const [ns, dev, addr] of [[inst, 'dv-i', '169.254.53.1/30'], [up, 'dv-u', '169.254.53.2/30']] as const) {
    execFileSync('ip', ['-n', ns, 'addr', 'add', addr, 'dev', dev]);
    execFileSync('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  const dns = await startVl3Dns(`/var/run/netns/${inst}`, { port: 5300 });
  t.after(() => dns.stop());
  dns.update({ zones: ['vl3-net'], upstreams: [{ host: '169.254.53.2', port: 5353 }] });
  const out = JSON.parse(execFileSync('ip', ['netns', 'exec', up, process.execPath, '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 })) as {
    name: string; rcode: number; id: number; answers: string[];
  }[];
  assert.deepEqual(out[0], { name: 'example.test', rcode: 0, id: 4242, answers: ['198.18.7.7'] });
  assert.deepEqual(out[1], { name: 'nsc-9.vl3-net', rcode: 3, id: 4242, answers: [] }); // its zone: never forwarded
  assert.deepEqual(out[2], { name: 'silent.test', rcode: 2, id: 4242, answers: [] }); // upstream gone: SERVFAIL
});
