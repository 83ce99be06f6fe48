// strongSwan's vici wire format (no maintained npm client exists): a packet is a 4-byte
// big-endian length, a type byte, a name for named types, and a message of sections,
// key/values and lists. Encodes requests and decodes responses and events; values are strings.
/** Packet types. */
export const PT = { CMD_REQUEST: 0, CMD_RESPONSE: 1, CMD_UNKNOWN: 2, EVENT_REGISTER: 3, EVENT_UNREGISTER: 4, EVENT_CONFIRM: 5, EVENT_UNKNOWN: 6, EVENT: 7 } as const;
/** Message element types. */
const E = { SECTION_START: 1, SECTION_END: 2, KEY_VALUE: 3, LIST_START: 4, LIST_ITEM: 5, LIST_END: 6 } as const;

/** A vici message: nested sections of string values and string lists. */
export interface ViciMessage {
  [key: string]: string | string[] | ViciMessage;
}

export interface ViciPacket {
  type: number;
  name?: string;
  message: ViciMessage;
}

const NAMED = new Set<number>([PT.CMD_REQUEST, PT.EVENT_REGISTER, PT.EVENT_UNREGISTER, PT.EVENT]);

function nameBytes(name: string): Buffer {
  const b = Buffer.from(name, 'utf8');
  if (b.length > 255) throw new RangeError(`vici name longer than 255 bytes: ${name.slice(0, 40)}...`);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function valueBytes(value: string | Buffer): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (b.length > 65535) throw new RangeError('vici value longer than 65535 bytes');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/** The message body (without packet header). */
export function encodeMessage(msg: ViciMessage): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(msg)) {
    if (typeof value === 'string') parts.push(Buffer.from([E.KEY_VALUE]), nameBytes(key), valueBytes(value));
    else if (Array.isArray(value)) {
      parts.push(Buffer.from([E.LIST_START]), nameBytes(key));
      for (const item of value) parts.push(Buffer.from([E.LIST_ITEM]), valueBytes(item));
      parts.push(Buffer.from([E.LIST_END]));
    } else parts.push(Buffer.from([E.SECTION_START]), nameBytes(key), encodeMessage(value), Buffer.from([E.SECTION_END]));
  }
  return Buffer.concat(parts);
}

/** One framed packet, length prefix included. */
export function encodePacket(p: ViciPacket): Buffer {
  const head = NAMED.has(p.type) ? Buffer.concat([Buffer.from([p.type]), nameBytes(p.name ?? '')]) : Buffer.from([p.type]);
  const body = Buffer.concat([head, encodeMessage(p.message)]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

class Reader {
  constructor(
    private readonly b: Buffer,
    public pos = 0,
  ) {}
  get done(): boolean {
    return this.pos >= this.b.length;
  }
  u8(): number {
    if (this.pos + 1 > this.b.length) throw new Error('vici message truncated');
    return this.b[this.pos++]!;
  }
  bytes(n: number): Buffer {
    if (this.pos + n > this.b.length) throw new Error('vici message truncated');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    return this.bytes(this.u8()).toString('utf8');
  }
  value(): string {
    const n = this.bytes(2).readUInt16BE(0);
    return this.bytes(n).toString('utf8');
  }
}

/** Decodes a message body (sections nest; a stray end or unknown element is an error). */
export function decodeMessage(buf: Buffer): ViciMessage {
  const r = new Reader(buf);
  const root: ViciMessage = {};
  const stack: ViciMessage[] = [root];
  let list: string[] | undefined;
  while (!r.done) {
    const t = r.u8();
    const top = stack[stack.length - 1]!;
    if (list && t !== E.LIST_ITEM && t !== E.LIST_END) throw new Error(`vici element ${t} inside a list`);
    switch (t) {
      case E.SECTION_START: {
        const s: ViciMessage = {};
        top[r.name()] = s;
        stack.push(s);
        break;
      }
      case E.SECTION_END:
        if (stack.length === 1) throw new Error('vici section end without start');
        stack.pop();
        break;
      case E.KEY_VALUE: {
        const k = r.name();
        top[k] = r.value();
        break;
      }
      case E.LIST_START:
        list = [];
        top[r.name()] = list;
        break;
      case E.LIST_ITEM:
        if (!list) throw new Error('vici list item outside a list');
        list.push(r.value());
        break;
      case E.LIST_END:
        if (!list) throw new Error('vici list end without start');
        list = undefined;
        break;
      default:
        throw new Error(`unknown vici element type ${t}`);
    }
  }
  if (stack.length !== 1 || list) throw new Error('vici message ends inside a section or list');
  return root;
}

/** Decodes one packet body (after the length prefix). */
export function decodePacket(body: Buffer): ViciPacket {
  const r = new Reader(body);
  const type = r.u8();
  const name = NAMED.has(type) ? r.name() : undefined;
  return { type, ...(name !== undefined ? { name } : {}), message: decodeMessage(body.subarray(r.pos)) };
}

/** Splits a byte stream into packet bodies; keeps the incomplete rest. */
export class PacketSplitter {
  private pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.pending.length >= 4) {
      const n = this.pending.readUInt32BE(0);
      if (this.pending.length < 4 + n) break;
      out.push(this.pending.subarray(4, 4 + n));
      this.pending = this.pending.subarray(4 + n);
    }
    return out;
  }
}
