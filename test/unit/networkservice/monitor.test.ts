import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Metadata, type CallContext } from 'nice-grpc-common';
import { Connection, ConnectionEventType, MonitorScopeSelector, NetworkServiceRequest, State, type ConnectionEvent } from '../../../src/api/index.js';
import { INSTANCE_HEADER, lossesOnlyMetadata } from '../../../src/sdk/core/grpc-metadata.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { ConnectionMonitor } from '../../../src/sdk/networkservice/monitor.js';
import { recorder, within } from './helpers.js';

const conn = (id: string, segs: [string, string][] = [[`seg-${id}`, id]]) =>
  Connection.fromPartial({ id, path: { index: 0, pathSegments: segs.map(([name, sid]) => ({ name, id: sid })) } });

const listeners = (m: ConnectionMonitor) => (m as unknown as { events: EventEmitter }).events.listenerCount('event');

function subscribe(m: ConnectionMonitor, scope: Parameters<typeof MonitorScopeSelector.fromPartial>[0] = {}, metadata?: Metadata) {
  const ac = new AbortController();
  const it = m.implementation().monitorConnections(MonitorScopeSelector.fromPartial(scope), { signal: ac.signal, ...(metadata ? { metadata } : {}) } as CallContext)[Symbol.asyncIterator]();
  const next = async (): Promise<ConnectionEvent> => {
    const r = await within(it.next(), 1000);
    assert.ok(!r.done, 'stream ended unexpectedly');
    return r.value as ConnectionEvent;
  };
  return { ac, it, next };
}

const summary = (e: ConnectionEvent) => [e.type, Object.keys(e.connections).sort()];

describe('monitor', () => {
  it('the element records updates and removes on close (even a failing one)', async () => {
    const m = new ConnectionMonitor();
    let failClose = false;
    const h = chain(m.element(), recorder({ onClose: () => { if (failClose) throw new Error('close failed'); } }));
    await h.request(NetworkServiceRequest.fromPartial({ connection: conn('a') }), newCtx());
    await h.request(NetworkServiceRequest.fromPartial({ connection: conn('b') }), newCtx());
    assert.deepEqual([...m.connections.keys()], ['a', 'b']);
    await h.close(conn('a'), newCtx());
    failClose = true;
    await assert.rejects(h.close(conn('b'), newCtx()), /close failed/);
    assert.equal(m.connections.size, 0);
  });

  it('a failed request is not recorded', async () => {
    const m = new ConnectionMonitor();
    const h = chain(m.element(), recorder({ onRequest: () => { throw new Error('nope'); } }));
    await assert.rejects(h.request(NetworkServiceRequest.fromPartial({ connection: conn('a') }), newCtx()));
    assert.equal(m.connections.size, 0);
  });

  it('update keeps a copy', () => {
    const m = new ConnectionMonitor();
    const c = conn('a');
    m.update(c);
    c.networkService = 'changed';
    assert.equal(m.connections.get('a')!.networkService, '');
  });

  it('streams INITIAL_STATE_TRANSFER, then UPDATE and DELETE; ends without leaking a listener when the signal aborts', async () => {
    const m = new ConnectionMonitor();
    m.update(conn('a'));
    assert.equal(listeners(m), 0);
    const s = subscribe(m);
    assert.deepEqual(summary(await s.next()), [ConnectionEventType.INITIAL_STATE_TRANSFER, ['a']]);
    assert.equal(listeners(m), 1);
    m.update(conn('b'));
    m.remove(conn('a'));
    const up = await s.next();
    assert.deepEqual(summary(up), [ConnectionEventType.UPDATE, ['b']]);
    const del = await s.next();
    assert.deepEqual(summary(del), [ConnectionEventType.DELETE, ['a']]);
    assert.equal(del.connections['a']!.path!.pathSegments[0]!.name, 'seg-a', 'DELETE carries the known connection');
    const pending = s.it.next();
    s.ac.abort();
    assert.equal((await within(pending, 1000)).done, true, 'the stream ended');
    assert.equal(listeners(m), 0, 'no listener left');
  });

  it('events between subscription and the first read are not lost', async () => {
    const m = new ConnectionMonitor();
    const s = subscribe(m);
    const initial = await s.next();
    assert.deepEqual(summary(initial), [ConnectionEventType.INITIAL_STATE_TRANSFER, []]);
    m.update(conn('x'));
    m.update(conn('y'));
    assert.deepEqual(summary(await s.next()), [ConnectionEventType.UPDATE, ['x']]);
    assert.deepEqual(summary(await s.next()), [ConnectionEventType.UPDATE, ['y']]);
    s.ac.abort();
    await s.it.next();
    assert.equal(listeners(m), 0);
  });

  it('filters by scope: segment id, or name when no id is given', async () => {
    const m = new ConnectionMonitor();
    m.update(conn('a', [['client', 'a'], ['nsmgr-1', 'n-a']]));
    m.update(conn('b', [['client', 'b'], ['nsmgr-2', 'n-b']]));
    const byName = subscribe(m, { pathSegments: [{ name: 'nsmgr-1' }] });
    const byId = subscribe(m, { pathSegments: [{ id: 'n-b', name: 'ignored-when-id-set' }] });
    assert.deepEqual(summary(await byName.next()), [ConnectionEventType.INITIAL_STATE_TRANSFER, ['a']]);
    assert.deepEqual(summary(await byId.next()), [ConnectionEventType.INITIAL_STATE_TRANSFER, ['b']]);
    m.update(conn('c', [['client', 'c'], ['nsmgr-2', 'n-c']]));
    m.update(conn('a', [['client', 'a'], ['nsmgr-1', 'n-a']]));
    m.remove(conn('b'));
    assert.deepEqual(summary(await byName.next()), [ConnectionEventType.UPDATE, ['a']]);
    assert.deepEqual(summary(await byId.next()), [ConnectionEventType.DELETE, ['b']]);
    assert.equal(listeners(m), 2);
    byName.ac.abort();
    byId.ac.abort();
    await byName.it.next();
    await byId.it.next();
    assert.equal(listeners(m), 0);
  });

  it('filters by network_services, together with the path segments (each ignored when empty)', async () => {
    const m = new ConnectionMonitor();
    const withService = (id: string, service: string, nsmgr: string) => Connection.fromPartial({ ...conn(id, [['client', id], [nsmgr, `n-${id}`]]), networkService: service });
    m.update(withService('a', 'web', 'nsmgr-1'));
    m.update(withService('b', 'db', 'nsmgr-1'));
    m.update(withService('c', 'web', 'nsmgr-2'));
    const web = subscribe(m, { networkServices: ['web'] });
    const webOn1 = subscribe(m, { networkServices: ['web', 'cache'], pathSegments: [{ name: 'nsmgr-1' }] });
    const all = subscribe(m, {});
    assert.deepEqual(summary(await web.next()), [ConnectionEventType.INITIAL_STATE_TRANSFER, ['a', 'c']]);
    assert.deepEqual(summary(await webOn1.next()), [ConnectionEventType.INITIAL_STATE_TRANSFER, ['a']]);
    assert.deepEqual(summary(await all.next()), [ConnectionEventType.INITIAL_STATE_TRANSFER, ['a', 'b', 'c']]);
    m.update(withService('d', 'db', 'nsmgr-1'));
    m.update(withService('e', 'web', 'nsmgr-1'));
    assert.deepEqual(summary(await web.next()), [ConnectionEventType.UPDATE, ['e']]);
    assert.deepEqual(summary(await webOn1.next()), [ConnectionEventType.UPDATE, ['e']]);
    for (const s of [web, webOn1, all]) s.ac.abort();
  });

  it('a consumer that stops reading (return) leaves no listener behind', async () => {
    const m = new ConnectionMonitor();
    const s = subscribe(m);
    await s.next();
    await s.it.return?.(undefined);
    await sleep(1);
    assert.equal(listeners(m), 0, 'returning right after INITIAL_STATE_TRANSFER');
    const s2 = subscribe(m);
    await s2.next();
    m.update(conn('z'));
    await s2.next();
    await s2.it.return?.(undefined);
    assert.equal(listeners(m), 0, 'returning after an UPDATE');
    s.ac.abort();
    s2.ac.abort();
  });

  it('a subscriber asking for losses only gets DELETEs and UPDATEs to DOWN, not UPDATEs of live connections', async () => {
    const m = new ConnectionMonitor();
    const all = subscribe(m);
    const losses = subscribe(m, {}, lossesOnlyMetadata(new Metadata()));
    assert.equal((await all.next()).type, ConnectionEventType.INITIAL_STATE_TRANSFER);
    assert.equal((await losses.next()).type, ConnectionEventType.INITIAL_STATE_TRANSFER);
    m.update(conn('a'));
    m.update(Connection.fromPartial({ ...conn('b'), state: State.DOWN }));
    m.remove(conn('a'));
    assert.deepEqual(summary(await all.next()), [ConnectionEventType.UPDATE, ['a']]);
    assert.deepEqual(summary(await all.next()), [ConnectionEventType.UPDATE, ['b']]);
    assert.deepEqual(summary(await all.next()), [ConnectionEventType.DELETE, ['a']]);
    assert.deepEqual(summary(await losses.next()), [ConnectionEventType.UPDATE, ['b']]);
    assert.deepEqual(summary(await losses.next()), [ConnectionEventType.DELETE, ['a']]);
    all.ac.abort();
    losses.ac.abort();
  });

  it('a subscriber asking for losses only is not sent the DELETEs of its own Closes', async () => {
    const m = new ConnectionMonitor();
    const md = lossesOnlyMetadata(new Metadata());
    md.set(INSTANCE_HEADER, 'life-1');
    const losses = subscribe(m, {}, md);
    assert.equal((await losses.next()).type, ConnectionEventType.INITIAL_STATE_TRANSFER);
    m.update(conn('a'));
    m.update(conn('b'));
    m.update(conn('c'));
    m.remove(conn('a'), 'life-1'); // its own Close
    m.remove(conn('b'), 'life-2'); // someone else's
    m.remove(conn('c')); // no caller (expiry, a background close)
    assert.deepEqual(summary(await losses.next()), [ConnectionEventType.DELETE, ['b']]);
    assert.deepEqual(summary(await losses.next()), [ConnectionEventType.DELETE, ['c']]);
    losses.ac.abort();
  });
});
