// Names and helpers for the gRPC metadata NSM sends beside each message.
import { Metadata } from 'nice-grpc-common';
import type { Incoming } from './ctx.js';

export const TOKEN_HEADER = 'nsm-client-token';
export const TOKEN_EXPIRES_HEADER = 'nsm-client-token-expires';
/** Registry calls carry the registration path as JSON and get it echoed back. */
export const PATH_HEADER = 'path';

/** Reads the caller's token and its expiry from incoming metadata. */
export function incomingFrom(md: Metadata): Incoming {
  const token = md.get(TOKEN_HEADER);
  const expires = md.get(TOKEN_EXPIRES_HEADER);
  const out: Incoming = {};
  if (typeof token === 'string' && token) out.token = token;
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
