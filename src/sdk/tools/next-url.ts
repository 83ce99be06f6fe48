// The URL of the next hop, chosen by an element early in the chain (discover,
// select-forwarder, resolve-endpoint) and used by `connect`.
import { createContextKey, type Ctx } from '../core/ctx.js';

/** Per call: the next hop's URL. */
const NEXT_URL = createContextKey<string>('nextUrl');

export function setNextUrl(ctx: Ctx, url: string): void {
  ctx.values.set(NEXT_URL, url);
}

export function nextUrlOf(ctx: Ctx): string | undefined {
  return ctx.values.get(NEXT_URL);
}
