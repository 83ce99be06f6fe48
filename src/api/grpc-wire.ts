// The gRPC-over-HTTP/2 wire rules shared by the lean unary client and server (fast-unary-*.ts): message
// framing (1-byte compressed flag, 4-byte length), grpc-timeout, grpc-message percent-encoding and metadata as
// HTTP/2 headers (binary `-bin` values in base64). grpc-js serves and calls everything else.
import type { Http2Session } from 'node:http2';
import { gunzipSync, inflateSync } from 'node:zlib';
import { Metadata } from 'nice-grpc-common';
import { Status } from './errors.js';

/** Headers HTTP/2 or gRPC itself owns: never metadata. */
const RESERVED = new Set(['content-type', 'te', 'user-agent', 'grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'grpc-status', 'grpc-message', 'grpc-status-details-bin', 'content-length', 'accept-encoding']);

/** One length-prefixed, uncompressed gRPC message. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** A wire problem with the status it is answered with. */
export class WireError extends Error {
  constructor(
    readonly code: Status,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The single message of a unary body (`encoding` is the grpc-encoding header). Refuses a second message, a
 * truncated one and an encoding it does not know, as gRPC servers do.
 */
export function unframe(body: Buffer, encoding: string | undefined, limit: number): Buffer | undefined {
  if (body.length === 0) return undefined;
  if (body.length < 5) throw new WireError(Status.INTERNAL, 'truncated gRPC message prefix');
  const len = body.readUInt32BE(1);
  if (len > limit) throw new WireError(Status.RESOURCE_EXHAUSTED, `message of ${len} bytes exceeds the limit of ${limit}`);
  if (body.length !== 5 + len) throw new WireError(Status.INTERNAL, body.length < 5 + len ? 'truncated gRPC message' : 'more than one message in a unary call');
  const payload = body.subarray(5);
  if (body[0] === 0) return payload;
  if (encoding === 'gzip') return gunzipSync(payload);
  if (encoding === 'deflate') return inflateSync(payload);
  throw new WireError(Status.UNIMPLEMENTED, `message compressed with unsupported encoding ${encoding ?? '(none)'}`);
}

/** grpc-timeout header value (e.g. `150m`) in milliseconds; undefined when absent or malformed. */
export function parseTimeout(v: string | undefined): number | undefined {
  const m = v ? /^(\d{1,8})([HMSmun])$/.exec(v) : null;
  if (!m) return undefined;
  const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
  return Number(m[1]) * unitMs[m[2]!]!;
}

/** grpc-message: percent-encoded outside printable ASCII (and `%` itself). */
export function encodeGrpcMessage(text: string): string {
  return Array.from(Buffer.from(text, 'utf8'))
    .map((b) => (b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

export function decodeGrpcMessage(v: string | undefined): string {
  if (!v) return '';
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** Metadata to HTTP/2 headers (lowercase keys; `-bin` values base64). */
export function metadataToHeaders(md: Metadata | undefined, into: Record<string, string | string[]>): Record<string, string | string[]> {
  if (!md) return into;
  for (const [key, values] of md) {
    const k = key.toLowerCase();
    if (RESERVED.has(k) || k.startsWith(':')) continue;
    const vs = values.map((v) => (typeof v === 'string' ? v : Buffer.from(v).toString('base64')));
    into[k] = vs.length === 1 ? vs[0]! : vs;
  }
  return into;
}

/** HTTP/2 headers to metadata (pseudo and reserved headers left out). */
export function headersToMetadata(headers: Record<string, string | string[] | number | undefined>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || k.startsWith(':') || RESERVED.has(k)) continue;
    const vs = Array.isArray(v) ? v : [String(v)];
    if (k.endsWith('-bin')) for (const x of vs) for (const part of x.split(',')) md.append(k, Buffer.from(part.trim(), 'base64'));
    else md.set(k, vs.join(', '));
  }
  return md;
}

/**
 * The connection-level receive window the lean client and server open on a session (HTTP/2's default is 64 KiB, and
 * nghttp2 sends a WINDOW_UPDATE, a write of its own and a wake-up of the peer, whenever half of it has been received:
 * every ~15 Request/Close calls here). grpc-go grows its window up to the same 16 MiB; grpc-js takes it as an option.
 */
export const SESSION_WINDOW_BYTES = 16 * 1024 * 1024;

/** Opens a session's connection window to SESSION_WINDOW_BYTES (once it is connected). */
export function openWindow(s: Http2Session): void {
  try {
    s.setLocalWindowSize(SESSION_WINDOW_BYTES);
  } catch {
    // a session already closing keeps its default window
  }
}

/**
 * Response header of the lean server (fast-unary-server.ts): the message that follows is the whole answer and the
 * status after it is OK (the server answers with a message only on success). node:http2 sends trailers a turn
 * after the message; the lean client takes such an answer once its message is whole. Other gRPC peers ignore it
 * (custom metadata), and answers without it are read up to their status.
 */
export const FINAL_MESSAGE_HEADER = 'nsm-final-message';
