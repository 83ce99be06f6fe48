// vL3 slices and client pool: slice choice skips claimed slices and keeps a previous one; the pool
// never hands out an address twice, also after a restart from its lease store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseSlice, sliceLabel, sliceOfLabel } from '../../../src/sdk/tools/vl3-slices.js';
import { Vl3Pool } from '../../../src/sdk/tools/vl3-pool.js';
import type { LeaseStore } from '../../../src/sdk/tools/p2p-pool.js';

test('vl3 slices: /24 slices of a /20, deterministic per name, claimed ones skipped', () => {
  const a = chooseSlice('169.254.16.0/20', undefined, 'vl3-1', []);
  assert.match(a.cidr, /^169\.254\.(1[6-9]|2\d|3[01])\.0\/24$/);
  assert.equal(a.own, a.cidr.replace('.0/24', '.1/32'));
  assert.deepEqual(chooseSlice('169.254.16.0/20', undefined, 'vl3-1', []), a);
  const b = chooseSlice('169.254.16.0/20', undefined, 'vl3-1', [a.cidr]);
  assert.notEqual(b.cidr, a.cidr);
  // 16 instances take all 16 slices, each a different one.
  const taken: string[] = [];
  for (let i = 0; i < 16; i++) taken.push(chooseSlice('169.254.16.0/20', undefined, `i${i}`, taken).cidr);
  assert.equal(new Set(taken).size, 16);
  assert.throws(() => chooseSlice('169.254.16.0/20', undefined, 'x', taken), /all 16 slices/);
});

test('vl3 slices: a previous slice is kept unless claimed; bad lengths are refused', () => {
  assert.equal(chooseSlice('169.254.16.0/20', undefined, 'n', [], '169.254.20.0/24').cidr, '169.254.20.0/24');
  assert.notEqual(chooseSlice('169.254.16.0/20', undefined, 'n', ['169.254.20.0/24'], '169.254.20.0/24').cidr, '169.254.20.0/24');
  assert.equal(chooseSlice('169.254.16.0/20', 26, 'n', []).prefix.bits, 26);
  assert.throws(() => chooseSlice('169.254.16.0/20', 20, 'n', []), /does not fit/);
  const v6 = chooseSlice('2001:db8:5::/64', undefined, 'n', []);
  assert.equal(v6.prefix.bits, 112);
  assert.equal(sliceOfLabel(sliceLabel(v6.cidr)), v6.cidr);
  assert.equal(sliceLabel('169.254.17.0/24'), '169.254.17.0-24');
});

function memoryStore(): LeaseStore & { data: Record<string, string[]> } {
  const data: Record<string, string[]> = {};
  return { data, load: () => ({ ...data }), save: (id, a) => void (data[id] = a), remove: (id) => void delete data[id] };
}

test('vl3 pool: one address per connection, never twice, kept across a restart', () => {
  const slice = chooseSlice('169.254.16.0/20', 29, 'p', []);
  const store = memoryStore();
  const pool = new Vl3Pool(slice.prefix, store);
  const a = pool.allocate('c1', 'nsc-1');
  const b = pool.allocate('c2', 'nsc-2');
  assert.notEqual(a.addr, b.addr);
  assert.notEqual(a.addr, slice.own);
  assert.deepEqual(pool.allocate('c1', 'nsc-1'), a);
  assert.deepEqual([...pool.records()], [['nsc-1', [a.addr.split('/')[0]]], ['nsc-2', [b.addr.split('/')[0]]]]);
  // a /29 has 8 addresses: network, own, 5 clients, last
  for (let i = 3; i <= 5; i++) pool.allocate(`c${i}`, '');
  assert.throws(() => pool.allocate('c6', ''), /no free address/);
  pool.release('c5');
  pool.allocate('c6', '');

  const again = new Vl3Pool(slice.prefix, store);
  assert.equal(again.size, 5);
  assert.equal(again.records().size, 0, 'restored leases are not answered before they are confirmed');
  again.confirm('c1');
  assert.deepEqual(again.records().get('nsc-1'), [a.addr.split('/')[0]]);
  assert.throws(() => again.allocate('new', ''), /no free address/);
  // A connection asking for its old address of this slice gets it back.
  again.release('c2');
  assert.equal(again.allocate('c2-healed', 'nsc-2', b.addr).addr, b.addr);
});
