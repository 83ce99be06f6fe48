// Chains of NetworkService elements: each sees the Request on the way in and the
// Connection on the way out (and Close), and calls `next` or stops.
import { Connection, type NetworkServiceRequest } from '../../api/index.js';
import type { Ctx } from './ctx.js';

/** Something that serves Request and Close: a whole chain, or the rest of one. */
export interface NetworkServiceHandler {
  request(req: NetworkServiceRequest, ctx: Ctx): Promise<Connection>;
  close(conn: Connection, ctx: Ctx): Promise<void>;
}

/** One link of a chain. */
export interface NetworkServiceElement {
  request(req: NetworkServiceRequest, ctx: Ctx, next: NetworkServiceHandler): Promise<Connection>;
  close(conn: Connection, ctx: Ctx, next: NetworkServiceHandler): Promise<void>;
}

/** The end of every chain: hands the request's connection back. */
export const tail: NetworkServiceHandler = {
  async request(req) {
    return req.connection ?? Connection.create();
  },
  async close() {},
};

/** Assembles elements into one handler; the first element sees the Request first. */
export function chain(...elements: NetworkServiceElement[]): NetworkServiceHandler {
  let next: NetworkServiceHandler = tail;
  for (let i = elements.length - 1; i >= 0; i--) {
    const el = elements[i]!;
    const after = next;
    next = {
      request: (req, ctx) => el.request(req, ctx, after),
      close: (conn, ctx) => el.close(conn, ctx, after),
    };
  }
  return next;
}

/** Makes an element from the methods it cares about; the others pass through. */
export function element(parts: Partial<NetworkServiceElement>): NetworkServiceElement {
  return {
    request: parts.request ?? ((req, ctx, next) => next.request(req, ctx)),
    close: parts.close ?? ((conn, ctx, next) => next.close(conn, ctx)),
  };
}
