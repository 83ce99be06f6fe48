// In-process monitor streams: a component that shares its process with its watchers (`nsm nsmgr --with-forwarder`:
// the nsmgr watches its forwarder, the forwarder its nsmgr) registers its MonitorConnections implementation under the
// URL it also serves on gRPC, and peer-watch reads it directly: the same events (deep copies), the same metadata,
// no encoding and no HTTP/2 frames. Unregistering (the component stops) breaks the open streams, as a server's
// shutdown does, so watchers see the break and re-open (over gRPC, when nothing is registered any more).
import { Metadata, type CallContext } from 'nice-grpc-common';
import { ConnectionEvent, type MonitorConnectionServiceImplementation, type MonitorScopeSelector } from '../../api/index.js';
import { UnavailableError } from '../../api/errors.js';

interface Registered {
  impl: MonitorConnectionServiceImplementation;
  /** Aborted when the component unregisters: ends every open stream. */
  stopped: AbortController;
}

const monitors = new Map<string, Registered>();

/** Serves `impl` to in-process monitor streams for `url`; returns the unregistration (which breaks open streams). */
export function registerInProcessMonitor(url: string, impl: MonitorConnectionServiceImplementation): () => void {
  const reg: Registered = { impl, stopped: new AbortController() };
  monitors.set(url, reg);
  return () => {
    if (monitors.get(url) === reg) monitors.delete(url);
    reg.stopped.abort();
  };
}

/** A copy of an event that shares no object with the serving hop (fromPartial shares Dates: copied here). */
function copyEvent(ev: Parameters<typeof ConnectionEvent.fromPartial>[0]): ConnectionEvent {
  const out = ConnectionEvent.fromPartial(ev);
  for (const c of Object.values(out.connections)) {
    for (const seg of c.path?.pathSegments ?? []) if (seg.expires) seg.expires = new Date(seg.expires.getTime());
  }
  return out;
}

/** The MonitorConnections stream of the component registered under `url` in this process, if any. */
export function inProcessMonitor(url: string, scope: MonitorScopeSelector, opts: { signal: AbortSignal; metadata?: Metadata }): AsyncIterable<ConnectionEvent> | undefined {
  const reg = monitors.get(url);
  if (!reg) return undefined;
  return stream(reg, scope, opts.signal, opts.metadata ?? new Metadata());
}

async function* stream(reg: Registered, scope: MonitorScopeSelector, signal: AbortSignal, metadata: Metadata): AsyncGenerator<ConnectionEvent> {
  const both = AbortSignal.any([signal, reg.stopped.signal]);
  const call: CallContext = { metadata, peer: 'in-process', header: new Metadata(), sendHeader: () => undefined, trailer: new Metadata(), signal: both };
  for await (const ev of reg.impl.monitorConnections(scope, call)) yield copyEvent(ev);
  if (reg.stopped.signal.aborted && !signal.aborted) throw new UnavailableError('in-process monitor stream ended: the component stopped');
}
