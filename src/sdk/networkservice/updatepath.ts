// updatepath: makes this hop's segment the current one in the connection's path
// (appending it on first Request, reusing it on refresh) and sets the connection
// id to this hop's own id; on the way back it restores the caller's index and id.
import { randomUUID } from 'node:crypto';
import { Path, PathSegment, type Connection } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { InvalidArgumentError } from '../../api/errors.js';

/**
 * Moves `conn` to this hop's segment; returns the index to restore afterwards. A server hop
 * (`server`) is never the current segment of what it receives: that one is its caller's, and a
 * caller naming its own segment like this hop is refused rather than taken for this hop's.
 */
export function enterPath(conn: Connection, name: string, server = false): number {
  const path = (conn.path ??= Path.create());
  const segs = path.pathSegments;
  let restore = 0;
  if (segs.length === 0) {
    segs.push(PathSegment.fromPartial({ name, id: conn.id || randomUUID() }));
    path.index = 0;
  } else {
    if (path.index >= segs.length) throw new InvalidArgumentError(`path.index ${path.index} is out of range (${segs.length} segments)`);
    const prev = path.index;
    restore = prev;
    if (server && segs[prev]!.name === name) {
      throw new InvalidArgumentError(`path.path_segments[${prev}] (the caller's) is named "${name}", like this hop: a caller cannot take this hop's name`);
    }
    if (segs[prev]!.name !== name) {
      if (segs[prev + 1]?.name === name) path.index = prev + 1;
      else {
        segs.splice(prev + 1);
        segs.push(PathSegment.fromPartial({ name, id: randomUUID() }));
        path.index = prev + 1;
      }
    }
  }
  const seg = segs[path.index]!;
  if (!seg.id) seg.id = randomUUID();
  conn.id = seg.id;
  return restore;
}

/** Restores the caller's view: its index and its connection id. */
export function leavePath(conn: Connection, index: number): void {
  if (!conn.path || conn.path.pathSegments.length === 0) return;
  conn.path.index = Math.min(index, conn.path.pathSegments.length - 1);
  conn.id = conn.path.pathSegments[conn.path.index]!.id;
}

/** The element: `name` is this hop's name in every path it joins; `server` for server hops (not the client). */
export function updatePath(name: string, opts: { server?: boolean } = {}): NetworkServiceElement {
  const server = opts.server ?? false;
  return element({
    async request(req, ctx, next) {
      const restore = enterPath(req.connection!, name, server);
      const out = await next.request(req, ctx);
      leavePath(out, restore);
      return out;
    },
    async close(conn, ctx, next) {
      const restore = enterPath(conn, name, server);
      await next.close(conn, ctx);
      leavePath(conn, restore);
    },
  });
}
