// One background timer per connection and purpose (refresh, expiry, ...), kept in
// the connection's metadata so a new Request replaces it and Close cancels it.
import { createContextKey, type ContextKey, type Ctx } from './ctx.js';

export type ConnectionTimerKey = ContextKey<NodeJS.Timeout | undefined>;

/** A metadata key for one purpose's timer. */
export function connectionTimerKey(name: string): ConnectionTimerKey {
  return createContextKey<NodeJS.Timeout>(name);
}

/** Cancels the connection's timer under `key`, if any. */
export function clearConnectionTimer(ctx: Ctx, key: ConnectionTimerKey): void {
  clearTimeout(ctx.metadata.get(key));
  ctx.metadata.delete(key);
}

/** Replaces the connection's timer under `key`; it does not keep the process alive. */
export function setConnectionTimer(ctx: Ctx, key: ConnectionTimerKey, ms: number, fire: () => void): void {
  clearConnectionTimer(ctx, key);
  const timer = setTimeout(fire, ms);
  timer.unref();
  ctx.metadata.set(key, timer);
}
