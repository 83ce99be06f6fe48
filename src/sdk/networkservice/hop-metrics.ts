// hop-metrics: the head of a component's NetworkService chain when metrics are on; reports every
// Request and Close (outcome by gRPC status, latency) and reselect requests to a MetricsRecorder.
// Components wrap their chain with `withHopMetrics`, which returns the chain untouched without a recorder.
import { State } from '../../api/index.js';
import { chain, element, type NetworkServiceElement, type NetworkServiceHandler } from '../core/chain.js';
import { statusName, type HopMethod, type MetricsRecorder } from '../core/metrics.js';

async function timed<T>(recorder: MetricsRecorder, method: HopMethod, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    const out = await run();
    recorder.hop(method, 'OK', (performance.now() - started) / 1000);
    return out;
  } catch (err) {
    recorder.hop(method, statusName(err), (performance.now() - started) / 1000);
    throw err;
  }
}

export function hopMetrics(recorder: MetricsRecorder): NetworkServiceElement {
  return element({
    request(req, ctx, next) {
      if (req.connection?.state === State.RESELECT_REQUESTED) recorder.reselect?.();
      return timed(recorder, 'request', () => next.request(req, ctx));
    },
    close(conn, ctx, next) {
      return timed(recorder, 'close', () => next.close(conn, ctx));
    },
  });
}

/** `handler` behind hop-metrics (and `more` elements, e.g. segment-stats), or `handler` itself without a recorder. */
export function withHopMetrics(handler: NetworkServiceHandler, recorder?: MetricsRecorder, ...more: NetworkServiceElement[]): NetworkServiceHandler {
  const head = [...(recorder ? [hopMetrics(recorder)] : []), ...more];
  if (head.length === 0) return handler;
  return chain(...head, { request: (req, ctx) => handler.request(req, ctx), close: (conn, ctx) => handler.close(conn, ctx) });
}
