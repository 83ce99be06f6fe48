// Checks the protobuf wire types of a registry request before decoding, because the
// generated decoder silently skips a known field sent with the wrong wire type;
// also refuses strings that are not valid UTF-8 (the decoder would replace them), map keys
// that name an Object prototype property, and negative timestamp nanos; returns a message
// naming the field (proto name), or undefined when the bytes are fine.

export interface FieldSpec {
  name: string;
  /** 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  wire: number;
  /** Schema of the embedded message, for length-delimited message fields. */
  msg?: Schema;
  /** A string field: must be valid UTF-8. */
  str?: boolean;
  /** A map key: must not be a prototype property name (`__proto__` would vanish into the prototype). */
  mapKey?: boolean;
  /** An int32 varint field with this inclusive range. */
  range?: readonly [number, number];
}
export type Schema = Readonly<Record<number, FieldSpec>>;

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'];
const wireName = (w: number) => WIRE_NAMES[w] ?? `wire type ${w}`;

const STRING_MAP: Schema = { 1: { name: 'key', wire: 2, str: true, mapKey: true }, 2: { name: 'value', wire: 2, str: true } };
const TIMESTAMP: Schema = { 1: { name: 'seconds', wire: 0 }, 2: { name: 'nanos', wire: 0, range: [0, 999_999_999] } };
const NS_LABELS: Schema = { 1: { name: 'labels', wire: 2, msg: STRING_MAP } };
const DESTINATION: Schema = {
  1: { name: 'destination_selector', wire: 2, msg: STRING_MAP },
  2: { name: 'weight', wire: 0 },
};
const MATCH: Schema = {
  1: { name: 'source_selector', wire: 2, msg: STRING_MAP },
  2: { name: 'routes', wire: 2, msg: DESTINATION },
  3: { name: 'fallthrough', wire: 0 },
  4: { name: 'metadata', wire: 2, msg: NS_LABELS },
};

export const NETWORK_SERVICE: Schema = {
  1: { name: 'name', wire: 2, str: true },
  2: { name: 'payload', wire: 2, str: true },
  3: { name: 'matches', wire: 2, msg: MATCH },
  4: { name: 'path_ids', wire: 2, str: true },
};
export const NETWORK_SERVICE_ENDPOINT: Schema = {
  1: { name: 'name', wire: 2, str: true },
  2: { name: 'network_service_names', wire: 2, str: true },
  3: {
    name: 'network_service_labels',
    wire: 2,
    msg: { 1: { name: 'key', wire: 2, str: true, mapKey: true }, 2: { name: 'value', wire: 2, msg: NS_LABELS } },
  },
  4: { name: 'url', wire: 2, str: true },
  5: { name: 'expiration_time', wire: 2, msg: TIMESTAMP },
  6: { name: 'initial_registration_time', wire: 2, msg: TIMESTAMP },
  7: { name: 'path_ids', wire: 2, str: true },
};
export const NETWORK_SERVICE_QUERY: Schema = {
  1: { name: 'network_service', wire: 2, msg: NETWORK_SERVICE },
  2: { name: 'watch', wire: 0 },
};
export const NETWORK_SERVICE_ENDPOINT_QUERY: Schema = {
  1: { name: 'network_service_endpoint', wire: 2, msg: NETWORK_SERVICE_ENDPOINT },
  2: { name: 'watch', wire: 0 },
};

const MECHANISM: Schema = {
  1: { name: 'cls', wire: 2, str: true },
  2: { name: 'type', wire: 2, str: true },
  3: { name: 'parameters', wire: 2, msg: STRING_MAP },
};
const PATH_SEGMENT: Schema = {
  1: { name: 'name', wire: 2, str: true },
  2: { name: 'id', wire: 2, str: true },
  3: { name: 'token', wire: 2, str: true },
  4: { name: 'expires', wire: 2, msg: TIMESTAMP },
  5: { name: 'metrics', wire: 2, msg: STRING_MAP },
};
/** connection.Connection (the fields a hop reads; the IP context is checked by its decoder). */
export const CONNECTION: Schema = {
  1: { name: 'id', wire: 2, str: true },
  2: { name: 'network_service', wire: 2, str: true },
  3: { name: 'mechanism', wire: 2, msg: MECHANISM },
  4: { name: 'context', wire: 2 },
  5: { name: 'labels', wire: 2, msg: STRING_MAP },
  6: { name: 'path', wire: 2, msg: { 1: { name: 'index', wire: 0 }, 2: { name: 'path_segments', wire: 2, msg: PATH_SEGMENT } } },
  7: { name: 'network_service_endpoint_name', wire: 2, str: true },
  8: { name: 'payload', wire: 2, str: true },
  9: { name: 'state', wire: 0 },
};
export const NETWORK_SERVICE_REQUEST: Schema = {
  1: { name: 'connection', wire: 2, msg: CONNECTION },
  2: { name: 'mechanism_preferences', wire: 2, msg: MECHANISM },
};

class Truncated extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Keys that an assignment to a plain object would not store as an own entry, or that shadow its prototype. */
const PROTOTYPE_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** The varint at `pos` read as protobuf int32: its low 32 bits (negative numbers are sent as 10 bytes). */
function int32At(b: Uint8Array, pos: number): number {
  let v = 0;
  for (let i = 0; i < 5; i++) {
    const byte = b[pos + i] ?? 0;
    v |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) === 0) break;
  }
  return v | 0;
}

function stringProblem(bytes: Uint8Array, spec: FieldSpec, path: string): string | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return `${path}.${spec.name} is not valid UTF-8`;
  }
  if (spec.mapKey && PROTOTYPE_KEYS.has(text)) return `${path}.${spec.name} ${JSON.stringify(text)} is not allowed as a key`;
  return undefined;
}

function readVarint(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= b.length) throw new Truncated();
    const byte = b[pos++]!;
    if (shift < 28) v |= (byte & 0x7f) << shift;
    else v += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [v, pos];
  }
  throw new Truncated();
}

function check(b: Uint8Array, schema: Schema, path: string): string | undefined {
  let pos = 0;
  while (pos < b.length) {
    let tag: number;
    [tag, pos] = readVarint(b, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) return `${path}: field number 0 is invalid`;
    const spec = schema[field];
    if (spec && spec.wire !== wire) {
      return `${path}.${spec.name} (field ${field}) has ${wireName(wire)} encoding, want ${wireName(spec.wire)}`;
    }
    switch (wire) {
      case 0: {
        const start = pos;
        [, pos] = readVarint(b, pos);
        if (spec?.range) {
          const n = int32At(b, start);
          if (n < spec.range[0] || n > spec.range[1]) return `${path}.${spec.name} ${n} is out of range ${spec.range[0]}..${spec.range[1]}`;
        }
        break;
      }
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        let len: number;
        [len, pos] = readVarint(b, pos);
        const end = pos + len;
        if (end > b.length) throw new Truncated();
        if (spec?.str) {
          const p = stringProblem(b.subarray(pos, end), spec, path);
          if (p) return p;
        }
        if (spec?.msg) {
          const p = check(b.subarray(pos, end), spec.msg, `${path}.${spec.name}`);
          if (p) return p;
        }
        pos = end;
        break;
      }
      default:
        return `${path}: unsupported wire type ${wire} of field ${field}`;
    }
    if (pos > b.length) throw new Truncated();
  }
  return undefined;
}

/** Why `bytes` is not a well-formed message of `schema` (named `root`), or undefined. */
export function wireProblem(bytes: Uint8Array, schema: Schema, root: string): string | undefined {
  try {
    return check(bytes, schema, root);
  } catch (err) {
    if (err instanceof Truncated) return `${root}: truncated or malformed message`;
    throw err;
  }
}
