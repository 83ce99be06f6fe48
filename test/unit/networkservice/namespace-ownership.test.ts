import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { Status, statusOf } from '../../../src/api/errors.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx, type Incoming } from '../../../src/sdk/core/ctx.js';
import { BACKGROUND_EVENT } from '../../../src/sdk/core/begin.js';
import { namespaceOwnership, type NamespaceFacts } from '../../../src/sdk/networkservice/namespace-ownership.js';
import { kernelMechanism, P } from '../../../src/sdk/tools/mechanisms.js';
import { kernelNamespaceFacts } from '../../../src/dataplane/namespace-facts.js';
import { recorder } from './helpers.js';

/** Fake facts: 'host' and '/proc/1/ns/net' are the node's ('ns-node'); client 42 lives in 'ns-42'; pid 9 has CAP_SYS_ADMIN. */
const facts: NamespaceFacts = {
  idOf: async (url) => {
    if (url === 'host' || url === 'file:///proc/1/ns/net' || url === 'file:///var/run/netns/node-1') return 'ns-node';
    const m = /^file:\/\/\/proc\/(\d+)\/ns\/net$/.exec(url);
    if (m) return `ns-${m[1]}`;
    throw new Error('no such namespace');
  },
  protectedIds: async () => ['ns-node'],
  idOfPid: async (pid) => `ns-${pid}`,
  privileged: async (pid) => pid === 9,
};

const req = (inodeURL: string) =>
  NetworkServiceRequest.fromPartial({ connection: Connection.fromPartial({ id: 'c', networkService: 'svc' }), mechanismPreferences: [kernelMechanism({ [P.name]: 'nsm-1', [P.inodeURL]: inodeURL })] });
const denied = (re: RegExp) => (err: unknown) => statusOf(err) === Status.PERMISSION_DENIED && re.test((err as Error).message);

function run(url: string, incoming: Incoming = {}, background = false) {
  const rec = recorder();
  const ctx = newCtx({ incoming });
  if (background) ctx.values.set(BACKGROUND_EVENT, true);
  return { rec, p: chain(namespaceOwnership(facts), rec).request(req(url), ctx) };
}

describe('namespace-ownership', () => {
  it('insecure: the node\'s namespaces (host, pid 1, the node netns) are refused, nothing reaches the rest of the chain', async () => {
    for (const url of ['host', 'file:///proc/1/ns/net', 'file:///var/run/netns/node-1']) {
      const { rec, p } = run(url);
      await assert.rejects(p, denied(/^namespace-ownership: inodeURL .* is the node's own network namespace/));
      assert.equal(rec.requests.length, 0);
    }
  });

  it('insecure: another namespace passes; an unknown one is left to the forwarder', async () => {
    await run('file:///proc/77/ns/net').p;
    await run('file:///nowhere').p;
  });

  it('with the caller\'s pid from the transport: only a namespace the caller proved its own (its pid lives there)', async () => {
    const spiffeId = 'spiffe://td/nsc/a';
    // A SPIFFE ID alone proves no namespace: the node's own are still refused, others pass.
    await assert.rejects(run('host', { peer: { spiffeId } }).p, denied(/node's own network namespace/));
    await run('file:///proc/77/ns/net', { peer: { spiffeId } }).p;
    await assert.rejects(run('file:///proc/77/ns/net', { peer: { spiffeId, pid: 42, uid: 1000 } }).p, denied(/namespace-ownership: mechanism parameter inodeURL "file:\/\/\/proc\/77\/ns\/net" is not the caller's network namespace \(pid 42, uid 1000/));
    await run('file:///proc/42/ns/net', { peer: { spiffeId, pid: 42 } }).p;
  });

  it('a caller that could enter any namespace itself (CAP_SYS_ADMIN) may name another, but not the node\'s', async () => {
    await run('file:///proc/77/ns/net', { peer: { pid: 9, uid: 0 } }).p;
    await assert.rejects(run('host', { peer: { pid: 9, uid: 0 } }).p, denied(/node's own network namespace/));
  });

  it('background events (refresh, heal) are not checked', async () => {
    await run('host', {}, true).p;
  });

  it('the kernel facts: this process\'s namespace is protected and found by its own pid', async () => {
    const self = await kernelNamespaceFacts.idOf('file:///proc/self/ns/net');
    assert.ok((await kernelNamespaceFacts.protectedIds()).includes(self));
    assert.equal(await kernelNamespaceFacts.idOfPid(process.pid), self);
    assert.equal(await kernelNamespaceFacts.privileged(process.pid), process.getuid?.() === 0);
    // A process that is gone: no namespace, not privileged (read synchronously, no error).
    assert.equal(await kernelNamespaceFacts.idOfPid(2 ** 22 + 1), undefined);
    assert.equal(await kernelNamespaceFacts.privileged(2 ** 22 + 1), false);
  });

  it('the kernel facts: CAP_SYS_ADMIN as /proc/PID/status says it, also for a process that dropped it', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const child = spawn('setpriv', ['--inh-caps=-sys_admin', '--bounding-set=-sys_admin', '--', 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const capEff = (pid: number) => (BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]}`) & (1n << 21n)) !== 0n;
      assert.equal(capEff(child.pid!), false, 'the child runs without CAP_SYS_ADMIN');
      assert.equal(await kernelNamespaceFacts.privileged(child.pid!), false);
      assert.equal(await kernelNamespaceFacts.privileged(1), capEff(1));
    } finally {
      child.kill();
    }
  });
});

