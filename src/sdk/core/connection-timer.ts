// One background timer per connection and purpose (refresh, expiry, ...), kept in
// the connection's metadata so a new Request replaces it and Close cancels it.
import type { Ctx } from './ctx.js';

/** Cancels the connection's timer under `key`, if any. */
export function clearConnectionTimer(ctx: Ctx, key: symbol): void {
  clearTimeout(ctx.metadata.get(key) as NodeJS.Timeout | undefined);
  ctx.metadata.delete(key);
}

/** Replaces the connection's timer under `key`; it does not keep the process alive. */
export function setConnectionTimer(ctx: Ctx, key: symbol, ms: number, fire: () => void): void {
  clearConnectionTimer(ctx, key);
  const timer = setTimeout(fire, ms);
  timer.unref();
  ctx.metadata.set(key, timer);
}
