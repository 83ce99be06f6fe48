// deadline-guard (client): the head of a client chain. A Request or Close ends by its caller's deadline with a
// clear DEADLINE_EXCEEDED, whatever the rest of the chain does: a chain that is still busy a moment after its
// signal fired (an await somewhere that does not listen to it) is left behind with one warning, and a connection
// it returns later is closed, since its caller no longer waits for it. A chain that gave up on its own with
// CANCELLED because the deadline passed reports DEADLINE_EXCEEDED too (the caller did not cancel anything).
import type { Connection } from '../../api/index.js';
import { element, type NetworkServiceElement, type NetworkServiceHandler } from '../core/chain.js';
import { newCtx, type Ctx } from '../core/ctx.js';
import { DeadlineExceededError, CancelledError, Status, messageOf, statusOf } from '../../api/errors.js';

/** How long the chain may take to unwind after its signal fired before it is left behind. */
export const UNWIND_GRACE_MS = 250;

const timedOut = (signal: AbortSignal) => (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';

function ended(what: string, signal: AbortSignal, cause?: unknown): Error {
  const opts = cause === undefined ? undefined : { cause };
  if (timedOut(signal)) return new DeadlineExceededError(`${what} did not finish before its deadline${cause === undefined ? '' : `: ${messageOf(cause)}`}`, opts);
  return new CancelledError(`${what} was cancelled by its caller`, opts);
}

/** `run`'s outcome, or an error at most `graceMs` after `ctx.signal` fired; `late` gets what `run` returns after that. */
function guarded<T>(what: string, ctx: Ctx, run: () => Promise<T>, graceMs: number, late: (v: T) => void): Promise<T> {
  const { signal } = ctx;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => {
        if (done) return;
        done = true;
        ctx.log.warn({ what, graceMs }, 'the chain did not end at its deadline: left behind (a connection it returns later is closed)');
        reject(ended(what, signal));
      }, graceMs);
    };
    const finish = () => {
      done = true;
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    run().then(
      (v) => {
        if (done) return late(v);
        finish();
        resolve(v);
      },
      (err: unknown) => {
        if (done) return;
        finish();
        if (signal.aborted && timedOut(signal) && statusOf(err) === Status.CANCELLED) reject(ended(what, signal, err));
        else reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export function deadlineGuard(opts: { graceMs?: number } = {}): NetworkServiceElement {
  const graceMs = opts.graceMs ?? UNWIND_GRACE_MS;
  const closeLate = (conn: Connection, ctx: Ctx, next: NetworkServiceHandler) => {
    ctx.log.warn({ connId: conn.id }, 'a Request left behind at its deadline returned a connection later: closing it');
    const closeCtx = newCtx({ log: ctx.log, timeoutMs: 15_000 });
    next.close(conn, closeCtx).catch((err: unknown) => ctx.log.warn({ connId: conn.id, err: messageOf(err) }, 'closing a late connection failed'));
  };
  return element({
    request: (req, ctx, next) => guarded('the Request', ctx, () => next.request(req, ctx), graceMs, (conn) => closeLate(conn, ctx, next)),
    close: (conn, ctx, next) => guarded('the Close', ctx, () => next.close(conn, ctx), graceMs, () => undefined),
  });
}
