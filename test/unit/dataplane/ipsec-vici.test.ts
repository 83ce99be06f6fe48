// Unit: the vici wire format (encode/decode round trips, framing across chunks, malformed input).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessage, decodePacket, encodeMessage, encodePacket, PacketSplitter, PT } from '../../../src/dataplane/mechanisms/ipsec/vici-wire.js';

test('a message with values, lists and nested sections round-trips', () => {
  const msg = { version: '2', local_addrs: ['198.18.0.1', '2001:db8::1'], nsm: { children: { nsm: { mode: 'tunnel', esp: [] as string[] } } } };
  assert.deepEqual(decodeMessage(encodeMessage(msg)), msg);
});

test('the known byte layout of a key/value and a section', () => {
  const b = encodeMessage({ a: 'xy', s: { k: 'v' } });
  assert.deepEqual([...b], [3, 1, 0x61, 0, 2, 0x78, 0x79, 1, 1, 0x73, 3, 1, 0x6b, 0, 1, 0x76, 2]);
});

test('packets are length-prefixed, named when requests, and split across chunks', () => {
  const p = encodePacket({ type: PT.CMD_REQUEST, name: 'load-conn', message: { x: 'y' } });
  assert.equal(p.readUInt32BE(0), p.length - 4);
  const s = new PacketSplitter();
  const both = Buffer.concat([p, encodePacket({ type: PT.CMD_RESPONSE, message: { success: 'yes' } })]);
  const out = [...s.push(both.subarray(0, 7)), ...s.push(both.subarray(7, 30)), ...s.push(both.subarray(30))];
  assert.equal(out.length, 2);
  assert.deepEqual(decodePacket(out[0]!), { type: PT.CMD_REQUEST, name: 'load-conn', message: { x: 'y' } });
  assert.deepEqual(decodePacket(out[1]!), { type: PT.CMD_RESPONSE, message: { success: 'yes' } });
});

test('malformed messages are errors, not crashes', () => {
  assert.throws(() => decodeMessage(Buffer.from([2])), /without start/);
  assert.throws(() => decodeMessage(Buffer.from([1, 1, 0x61])), /inside a section/);
  assert.throws(() => decodeMessage(Buffer.from([3, 5, 0x61])), /truncated/);
  assert.throws(() => decodeMessage(Buffer.from([9])), /unknown vici element/);
  assert.throws(() => decodeMessage(Buffer.from([5, 0, 0])), /outside a list/);
  assert.throws(() => encodeMessage({ ['k'.repeat(256)]: 'v' }), /255/);
});
