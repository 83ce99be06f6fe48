import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest, Path, PathSegment } from '../../../src/api/index.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { Status } from '../../../src/api/errors.js';
import { enterPath, leavePath, updatePath } from '../../../src/sdk/networkservice/updatepath.js';
import { hasCode, recorder } from './helpers.js';

const request = (conn: Parameters<typeof Connection.fromPartial>[0]) => NetworkServiceRequest.fromPartial({ connection: conn });

describe('updatepath', () => {
  it('a first request creates segment 0 with the connection id', async () => {
    const rec = recorder();
    const out = await chain(updatePath('client'), rec).request(request({ id: 'conn-1' }), newCtx());
    const seen = rec.requests[0]!.conn;
    assert.equal(seen.path!.index, 0);
    assert.deepEqual(seen.path!.pathSegments.map((s) => [s.name, s.id]), [['client', 'conn-1']]);
    assert.equal(seen.id, 'conn-1');
    assert.equal(out.id, 'conn-1');
    assert.equal(out.path!.index, 0);
  });

  it('a first request without an id gets a generated one', async () => {
    const rec = recorder();
    const out = await chain(updatePath('client'), rec).request(request({}), newCtx());
    assert.match(out.id, /^[0-9a-f-]{36}$/);
    assert.equal(out.path!.pathSegments[0]!.id, out.id);
  });

  it("a server appends its segment, uses its own id downstream and restores the caller's index and id", async () => {
    const rec = recorder();
    const server = chain(updatePath('nsmgr'), rec);
    const conn = Connection.fromPartial({
      id: 'client-id',
      path: { index: 0, pathSegments: [{ name: 'client', id: 'client-id' }] },
    });
    const out = await server.request(request(conn), newCtx());
    const seen = rec.requests[0]!.conn;
    assert.equal(seen.path!.index, 1);
    assert.deepEqual(seen.path!.pathSegments.map((s) => s.name), ['client', 'nsmgr']);
    const serverId = seen.path!.pathSegments[1]!.id;
    assert.match(serverId, /^[0-9a-f-]{36}$/);
    assert.notEqual(serverId, 'client-id');
    assert.equal(seen.id, serverId, 'downstream sees the server segment id');
    assert.equal(out.path!.index, 0, 'caller index restored');
    assert.equal(out.id, 'client-id', 'caller id restored');
    assert.equal(out.path!.pathSegments.length, 2, 'the segment stays in the returned path');
  });

  it('a refresh reuses the same segment (same id)', async () => {
    const rec = recorder();
    const server = chain(updatePath('nsmgr'), rec);
    const first = await server.request(request({ id: 'c', path: { index: 0, pathSegments: [{ name: 'client', id: 'c' }] } }), newCtx());
    const id1 = first.path!.pathSegments[1]!.id;
    const second = await server.request(request(first), newCtx());
    assert.equal(second.path!.pathSegments.length, 2);
    assert.equal(second.path!.pathSegments[1]!.id, id1);
    assert.equal(rec.requests[1]!.conn.id, id1);
    assert.equal(second.id, 'c');
  });

  it('the hop itself at the current index keeps its segment (re-entry at the same index)', () => {
    const conn = Connection.fromPartial({ id: 'x', path: { index: 1, pathSegments: [{ name: 'a', id: 'a1' }, { name: 'b', id: 'b1' }] } });
    const restore = enterPath(conn, 'b');
    assert.equal(restore, 1);
    assert.equal(conn.path!.index, 1);
    assert.equal(conn.id, 'b1');
  });

  it('a changed downstream hop truncates the rest of the path and appends a new segment', async () => {
    const rec = recorder();
    const server = chain(updatePath('nsmgr-b'), rec);
    const conn = Connection.fromPartial({
      id: 'c',
      path: {
        index: 0,
        pathSegments: [
          { name: 'client', id: 'c' },
          { name: 'nsmgr-a', id: 'old-1' },
          { name: 'fwd-a', id: 'old-2' },
        ],
      },
    });
    const out = await server.request(request(conn), newCtx());
    const segs = out.path!.pathSegments;
    assert.deepEqual(segs.map((s) => s.name), ['client', 'nsmgr-b']);
    assert.ok(!['old-1', 'old-2', 'c'].includes(segs[1]!.id));
    assert.equal(out.path!.index, 0);
  });

  it('a segment without an id gets one', () => {
    const conn = Connection.fromPartial({ id: 'c', path: { index: 0, pathSegments: [{ name: 'client', id: 'c' }, { name: 'nsmgr', id: '' }] } });
    enterPath(conn, 'nsmgr');
    assert.match(conn.id, /^[0-9a-f-]{36}$/);
    assert.equal(conn.path!.pathSegments[1]!.id, conn.id);
  });

  it('an out-of-range index is INVALID_ARGUMENT and nothing goes downstream', async () => {
    const rec = recorder();
    const conn = Connection.fromPartial({ id: 'c', path: { index: 3, pathSegments: [{ name: 'client', id: 'c' }] } });
    await assert.rejects(chain(updatePath('nsmgr'), rec).request(request(conn), newCtx()), hasCode(Status.INVALID_ARGUMENT, /out of range/));
    assert.equal(rec.requests.length, 0);
    await assert.rejects(chain(updatePath('nsmgr'), rec).close(conn, newCtx()), hasCode(Status.INVALID_ARGUMENT));
    assert.equal(rec.closes.length, 0);
  });

  it('close moves to the hop segment downstream and restores the caller view afterwards', async () => {
    const rec = recorder();
    const server = chain(updatePath('nsmgr'), rec);
    const opened = await server.request(request({ id: 'c', path: { index: 0, pathSegments: [{ name: 'client', id: 'c' }] } }), newCtx());
    const serverId = opened.path!.pathSegments[1]!.id;
    await server.close(opened, newCtx());
    assert.equal(rec.closes[0]!.conn.id, serverId);
    assert.equal(rec.closes[0]!.conn.path!.index, 1);
    assert.equal(opened.id, 'c');
    assert.equal(opened.path!.index, 0);
  });

  it('leavePath clamps the index and ignores empty paths', () => {
    const conn = Connection.fromPartial({ id: 'z', path: Path.fromPartial({ index: 0, pathSegments: [PathSegment.fromPartial({ name: 'a', id: 'a1' })] }) });
    leavePath(conn, 5);
    assert.equal(conn.path!.index, 0);
    assert.equal(conn.id, 'a1');
    const empty = Connection.fromPartial({ id: 'keep' });
    leavePath(empty, 0);
    assert.equal(empty.id, 'keep');
  });
});
