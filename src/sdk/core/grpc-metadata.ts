// Names and helpers for the gRPC metadata NSM sends beside each message.
import { randomUUID } from 'node:crypto';
import { Metadata } from 'nice-grpc-common';
import type { Incoming } from './ctx.js';
import { PEER_ID_HEADER, PEER_PID_HEADER, PEER_UID_HEADER } from '../../api/transport.js';

export const TOKEN_HEADER = 'nsm-client-token';
export const TOKEN_EXPIRES_HEADER = 'nsm-client-token-expires';
/** Registry calls carry the registration path as JSON and get it echoed back. */
export const PATH_HEADER = 'path';
/**
 * Our own header (ignored by upstream): a random id of this process's life, sent with
 * Requests, Closes and MonitorConnections streams, so an endpoint can tell that the
 * process behind a connection is gone (its stream ended and no new one came from it).
 */
export const INSTANCE_HEADER = 'nsm-instance';
export const PROCESS_INSTANCE = randomUUID();

/**
 * Our own header (ignored by upstream) on a MonitorConnections stream: a subscriber that only acts on
 * connections going away (peer-watch: a DELETE, or an UPDATE to DOWN) asks to be sent only those (and the
 * initial state); UPDATEs of live connections, half of every stream's events and all of its refreshes, stay
 * home, and so do the DELETEs of Closes that the subscriber's own process life (`nsm-instance`) sent.
 */
export const MONITOR_LOSSES_HEADER = 'nsm-monitor-losses-only';

/** Outgoing metadata asking a MonitorConnections server for losses only. */
export function lossesOnlyMetadata(md: Metadata = new Metadata()): Metadata {
  md.set(MONITOR_LOSSES_HEADER, '1');
  return md;
}

/** Whether a MonitorConnections subscriber asked for losses only. */
export function wantsLossesOnly(md: Metadata): boolean {
  return md.get(MONITOR_LOSSES_HEADER) === '1';
}

/** Outgoing metadata naming this process's life. */
export function instanceMetadata(md: Metadata = new Metadata()): Metadata {
  md.set(INSTANCE_HEADER, PROCESS_INSTANCE);
  return md;
}

/** The caller's process life, if it said. */
export function instanceOf(md: Metadata): string | undefined {
  const v = md.get(INSTANCE_HEADER);
  return typeof v === 'string' && v && v.length <= 64 ? v : undefined;
}

/** Reads the caller's token and its expiry from incoming metadata. */
export function incomingFrom(md: Metadata): Incoming {
  const token = md.get(TOKEN_HEADER);
  const expires = md.get(TOKEN_EXPIRES_HEADER);
  const out: Incoming = {};
  if (typeof token === 'string' && token) out.token = token;
  const instance = instanceOf(md);
  const traceparent = md.get('traceparent');
  if (typeof traceparent === 'string' && traceparent.length <= 128) out.traceparent = traceparent;
  const tracestate = md.get('tracestate');
  if (typeof tracestate === 'string' && tracestate.length <= 512) out.tracestate = tracestate;
  if (instance) out.instance = instance;
  // Set by the transport from the verified peer certificate (a caller's own value is removed before).
  const peerId = md.get(PEER_ID_HEADER);
  if (typeof peerId === 'string' && peerId) out.peer = { spiffeId: peerId };
  // Set by the transport from SO_PEERCRED of a unix socket (a caller's own values are removed before).
  const pid = Number(md.get(PEER_PID_HEADER));
  const uid = Number(md.get(PEER_UID_HEADER));
  if (Number.isInteger(pid) && pid > 0 && Number.isInteger(uid) && uid >= 0) out.peer = { ...out.peer, pid, uid };
  if (typeof expires === 'string' && expires) {
    const d = new Date(expires);
    if (!Number.isNaN(d.getTime())) out.tokenExpires = d;
  }
  return out;
}

/** Outgoing metadata carrying our token for the next hop. */
export function tokenMetadata(token: string | undefined, expires: Date | undefined): Metadata {
  const md = new Metadata();
  if (token) md.set(TOKEN_HEADER, token);
  if (expires) md.set(TOKEN_EXPIRES_HEADER, expires.toISOString());
  return md;
}
