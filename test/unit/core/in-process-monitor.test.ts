// In-process monitor streams: served from the registered monitor, copied, and broken when the component unregisters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, ConnectionEventType, type ConnectionEvent } from '../../../src/api/index.js';
import { UnavailableError } from '../../../src/api/errors.js';
import { inProcessMonitor, registerInProcessMonitor } from '../../../src/sdk/core/in-process-monitor.js';
import { ConnectionMonitor } from '../../../src/sdk/networkservice/monitor.js';

const scope = { pathSegments: [], networkServices: [] };

describe('in-process monitor', () => {
  it('streams the registered monitor, with copies, until the component unregisters', async () => {
    const monitor = new ConnectionMonitor();
    const held = Connection.fromPartial({ id: 'c1', path: { index: 0, pathSegments: [{ name: 'a', id: 'c1', expires: new Date(5000) }] } });
    monitor.update(held);
    assert.equal(inProcessMonitor('unix:///x/m.sock', scope, { signal: new AbortController().signal }), undefined);
    const unregister = registerInProcessMonitor('unix:///x/m.sock', monitor.implementation());
    const events = inProcessMonitor('unix:///x/m.sock', scope, { signal: new AbortController().signal })![Symbol.asyncIterator]();
    const first = (await events.next()).value as ConnectionEvent;
    assert.equal(first.type, ConnectionEventType.INITIAL_STATE_TRANSFER);
    const seen = first.connections.c1!;
    assert.equal(seen.id, 'c1');
    assert.notEqual(seen, monitor.connections.get('c1'));
    assert.notEqual(seen.path!.pathSegments[0]!.expires, monitor.connections.get('c1')!.path!.pathSegments[0]!.expires);
    assert.equal(seen.path!.pathSegments[0]!.expires!.getTime(), 5000);
    monitor.remove(held);
    const del = (await events.next()).value as ConnectionEvent;
    assert.equal(del.type, ConnectionEventType.DELETE);
    unregister();
    await assert.rejects(events.next(), (err: unknown) => err instanceof UnavailableError);
    assert.equal(inProcessMonitor('unix:///x/m.sock', scope, { signal: new AbortController().signal }), undefined);
  });

  it('ends quietly when the watcher aborts', async () => {
    const monitor = new ConnectionMonitor();
    const unregister = registerInProcessMonitor('unix:///x/q.sock', monitor.implementation());
    const ac = new AbortController();
    const events = inProcessMonitor('unix:///x/q.sock', scope, { signal: ac.signal })![Symbol.asyncIterator]();
    await events.next();
    const pending = events.next();
    ac.abort();
    assert.equal((await pending).done, true);
    unregister();
  });
});
