// validate-request (every server hop, first): refuses malformed Requests and Closes
// with INVALID_ARGUMENT naming the field before anything else looks at them: an empty
// or ill-formed network_service, names that are not well-formed text or too long,
// mechanism classes other than LOCAL and REMOTE, too many labels, mechanism
// preferences or path segments.
import type { Connection, Mechanism } from '../../api/index.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { InvalidArgumentError } from '../../api/errors.js';
import { MAX_LABELS, MAX_NAME_LENGTH, textProblem } from '../registry/limits.js';

/** Most path segments (a cross-domain path has 8; chains make new paths per hop). */
export const MAX_PATH_SEGMENTS = 32;
/** Most mechanism preferences of one Request. */
export const MAX_MECHANISM_PREFERENCES = 16;
/** Longest token or parameter value accepted. */
const MAX_VALUE_LENGTH = 8192;

const CLASSES = new Set(['LOCAL', 'REMOTE']);

function text(value: string, field: string, max = MAX_NAME_LENGTH): void {
  if (value.length > max) throw new InvalidArgumentError(`${field} is longer than ${max} characters (${value.length})`);
  const p = textProblem(value);
  if (p) throw new InvalidArgumentError(`${field} ${p}`);
}

function map(m: Record<string, string> | undefined, field: string): void {
  const entries = Object.entries(m ?? {});
  if (entries.length > MAX_LABELS) throw new InvalidArgumentError(`${field} has ${entries.length} entries, at most ${MAX_LABELS} are allowed`);
  for (const [k, v] of entries) {
    text(k, `${field} key`);
    text(v, `${field}[${JSON.stringify(k.slice(0, 40))}]`, MAX_VALUE_LENGTH);
  }
}

function mechanism(m: Mechanism, field: string): void {
  if (!CLASSES.has(m.cls)) throw new InvalidArgumentError(`${field}.cls ${JSON.stringify(m.cls.slice(0, 40))} is not LOCAL or REMOTE`);
  text(m.type, `${field}.type`);
  map(m.parameters, `${field}.parameters`);
}

/** Throws InvalidArgumentError when the connection cannot be served; `requireService` on Requests. */
export function validateConnection(conn: Connection | undefined, requireService: boolean, field = 'connection'): void {
  if (!conn) {
    if (requireService) throw new InvalidArgumentError(`${field} is required`);
    return;
  }
  if (requireService && !conn.networkService) throw new InvalidArgumentError(`${field}.network_service is required`);
  text(conn.networkService, `${field}.network_service`);
  text(conn.id, `${field}.id`);
  text(conn.networkServiceEndpointName, `${field}.network_service_endpoint_name`);
  text(conn.payload, `${field}.payload`);
  map(conn.labels, `${field}.labels`);
  if (conn.mechanism) mechanism(conn.mechanism, `${field}.mechanism`);
  const segs = conn.path?.pathSegments ?? [];
  if (segs.length > MAX_PATH_SEGMENTS) {
    throw new InvalidArgumentError(`${field}.path has ${segs.length} segments, at most ${MAX_PATH_SEGMENTS} are allowed`);
  }
  segs.forEach((s, i) => {
    text(s.name, `${field}.path.path_segments[${i}].name`);
    text(s.id, `${field}.path.path_segments[${i}].id`);
    text(s.token, `${field}.path.path_segments[${i}].token`, MAX_VALUE_LENGTH);
    if (s.expires && Number.isNaN(s.expires.getTime())) throw new InvalidArgumentError(`${field}.path.path_segments[${i}].expires is not a valid time`);
  });
}

export function validateRequest(): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      validateConnection(req.connection, true);
      if (req.mechanismPreferences.length > MAX_MECHANISM_PREFERENCES) {
        throw new InvalidArgumentError(`mechanism_preferences has ${req.mechanismPreferences.length} entries, at most ${MAX_MECHANISM_PREFERENCES} are allowed`);
      }
      req.mechanismPreferences.forEach((m, i) => mechanism(m, `mechanism_preferences[${i}]`));
      return next.request(req, ctx);
    },
    async close(conn, ctx, next) {
      validateConnection(conn, false);
      return next.close(conn, ctx);
    },
  });
}
