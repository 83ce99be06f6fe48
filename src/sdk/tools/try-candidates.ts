// Tries a request against candidates in order until one succeeds; errors that
// say the request itself is wrong stop at once, others move to the next candidate.
import { Status, statusOf, UnavailableError } from '../../api/errors.js';

const FINAL = new Set([Status.INVALID_ARGUMENT, Status.PERMISSION_DENIED, Status.CANCELLED, Status.UNAUTHENTICATED]);

export async function tryCandidates<C, T>(candidates: C[], attempt: (c: C) => Promise<T>, signal: AbortSignal): Promise<T> {
  let last: Error | undefined;
  for (const c of candidates) {
    signal.throwIfAborted();
    try {
      return await attempt(c);
    } catch (err) {
      last = err instanceof Error ? err : new Error(String(err));
      if (FINAL.has(statusOf(err)) || signal.aborted) throw err;
    }
  }
  // An empty list must not `throw undefined` (it would reach the caller as UNKNOWN "undefined").
  throw last ?? new UnavailableError('no candidates to try');
}
