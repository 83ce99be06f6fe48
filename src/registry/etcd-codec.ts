// How registry items are written to etcd: the generated message's proto3 JSON, so
// values stay readable with etcdctl. Decoding rejects anything that is not such JSON.

/** Turns an item into the stored string and back; `decode` throws on foreign values. */
export interface Codec<T> {
  encode(item: T): string;
  decode(value: string): T;
}

/** The part of a ts-proto generated message type that a codec needs. */
export interface JsonMessageType<T> {
  toJSON(message: T): unknown;
  fromJSON(object: unknown): T;
}

/**
 * A codec over a generated message type (e.g. `NetworkServiceEndpoint`). Values must be
 * JSON objects with a non-empty string `name`, as every registry message has.
 */
export function messageCodec<T>(type: JsonMessageType<T>): Codec<T> {
  return {
    encode: (item) => JSON.stringify(type.toJSON(item)),
    decode(value) {
      const parsed: unknown = JSON.parse(value);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new Error('not a JSON object');
      }
      const name = (parsed as { name?: unknown }).name;
      if (typeof name !== 'string' || name === '') throw new Error('no "name" field');
      return type.fromJSON(parsed);
    },
  };
}
