import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallContext } from 'nice-grpc-common';
import { Connection, MonitorScopeSelector, type ConnectionEvent } from '../../../src/api/index.js';
import { newTokenSigner } from '../../../src/sdk/core/token.js';
import { monitorView } from '../../../src/sdk/networkservice/monitor-authorize.js';
import { ConnectionMonitor } from '../../../src/sdk/networkservice/monitor.js';

const signer = await newTokenSigner();
const tok = async (sub: string) => (await signer.sign(sub)).token;

async function conn(id: string, subs: string[]): Promise<Connection> {
  const pathSegments = await Promise.all(subs.map(async (s, i) => ({ name: `hop-${s}`, id: `${id}-${i}`, token: await tok(s) })));
  return Connection.fromPartial({ id: `${id}-1`, networkService: 'svc', path: { index: 1, pathSegments } });
}
const tokens = (c: Connection | undefined) => c?.path?.pathSegments.map((s) => (s.token ? 'T' : '-')).join('');
const scope = (ids: string[] = []) => MonitorScopeSelector.fromPartial({ pathSegments: ids.map((id) => ({ id })) });

describe('monitor-authorize', () => {
  it('insecure, empty scope: the connection is shown without any token', async () => {
    const c = await conn('a', ['nsc', 'nsmgr', 'fwd', 'nse']);
    const v = monitorView(c, scope(), {});
    assert.equal(tokens(v), '----');
    assert.equal(tokens(c), 'TTTT', 'the stored connection keeps its tokens');
    assert.equal(v?.path?.pathSegments[2]?.id, 'a-2', 'ids stay: heal and status need them');
  });

  it('insecure, a scope naming the caller\'s own segment id: only that token is kept', async () => {
    const c = await conn('a', ['nsc', 'nsmgr', 'fwd', 'nse']);
    assert.equal(tokens(monitorView(c, scope(['a-0']), {})), 'T---');
  });

  it('secure: only connections whose path holds the caller\'s identity, and only its own tokens', async () => {
    const c = await conn('a', ['spiffe://td/nsc/a', 'spiffe://td/nsmgr/n1', 'spiffe://td/forwarder/f1', 'spiffe://td/nse/e']);
    assert.equal(monitorView(c, scope(), { peer: { spiffeId: 'spiffe://td/nsc/attacker' } }), undefined);
    assert.equal(tokens(monitorView(c, scope(), { peer: { spiffeId: 'spiffe://td/nsc/a' } })), 'T---');
    assert.equal(tokens(monitorView(c, scope(['a-2']), { peer: { spiffeId: 'spiffe://td/nsc/a' } })), 'T---', 'naming an id proves nothing with an identity');
    const admin = { peer: { spiffeId: 'spiffe://td/admin/cli' }, isAdmin: (id: string) => id.includes('/admin/') };
    assert.equal(tokens(monitorView(c, scope(), admin)), '----');
  });

  it('the monitor stream applies it: another caller (secure) sees nothing; insecure callers never see tokens', async () => {
    const m = new ConnectionMonitor();
    m.update(await conn('a', ['spiffe://td/nsc/a', 'spiffe://td/nsmgr/n1']));
    const first = async (spiffeId?: string) => {
      const ac = new AbortController();
      const impl = m.implementation({ peerOf: () => (spiffeId ? { spiffeId } : undefined) });
      const it = impl.monitorConnections(scope(), { signal: ac.signal } as CallContext)[Symbol.asyncIterator]();
      const ev = (await it.next()).value as ConnectionEvent;
      ac.abort();
      await it.return?.(undefined);
      return ev.connections;
    };
    assert.deepEqual(Object.keys(await first('spiffe://td/nsc/evil')), []);
    assert.equal(tokens((await first('spiffe://td/nsc/a'))['a-1']), 'T-');
    assert.equal(tokens((await first())['a-1']), '--');
  });
});
