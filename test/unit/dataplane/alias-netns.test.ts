// Unit: the nsm:<conn-id> tagging convention and namespace reference parsing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailedPreconditionError, InvalidArgumentError } from '../../../src/api/errors.js';
import { aliasFor, connIdFromAlias, parseNetns, resolveNetns, netnsPath } from '../../../src/dataplane/index.js';

test('aliasFor / connIdFromAlias round-trip', () => {
  const id = '3f1c2a9e-1b2c-4d5e-8f90-123456789abc';
  assert.equal(aliasFor(id), `nsm:${id}`);
  assert.equal(connIdFromAlias(aliasFor(id)), id);
  assert.equal(connIdFromAlias('nsm:'), undefined);
  assert.equal(connIdFromAlias('other:x'), undefined);
  assert.equal(connIdFromAlias(undefined), undefined);
  assert.throws(() => aliasFor(''), InvalidArgumentError);
  assert.throws(() => aliasFor('a b'), InvalidArgumentError);
  assert.throws(() => aliasFor('a#b'), InvalidArgumentError);
});

test('parseNetns: names, file URLs, paths, inode URLs, host', () => {
  assert.deepEqual(parseNetns('k2v2k-node-1'), { kind: 'named', name: 'k2v2k-node-1' });
  assert.deepEqual(parseNetns('file:///var/run/netns/ns1'), { kind: 'named', name: 'ns1' });
  assert.deepEqual(parseNetns('/run/netns/ns1'), { kind: 'named', name: 'ns1' });
  assert.deepEqual(parseNetns('file:///proc/123/ns/net'), { kind: 'path', path: '/proc/123/ns/net' });
  assert.deepEqual(parseNetns('/proc/123/ns/net'), { kind: 'path', path: '/proc/123/ns/net' });
  assert.deepEqual(parseNetns('inode://4/4026532177'), { kind: 'inode', dev: 4, ino: 4026532177 });
  assert.deepEqual(parseNetns(undefined), { kind: 'host' });
  assert.deepEqual(parseNetns(''), { kind: 'host' });
  assert.deepEqual(parseNetns({ kind: 'named', name: 'x' }), { kind: 'named', name: 'x' });
  for (const bad of ['a b', 'a/b', 'http://x/y', '/proc/1/../../etc', 'inode://x/1', '..', 'file:///var/run/netns/a b']) {
    assert.throws(() => parseNetns(bad), InvalidArgumentError, bad);
  }
  assert.equal(netnsPath({ kind: 'named', name: 'x' }), '/var/run/netns/x');
});

test('resolveNetns: missing namespaces are a failed precondition naming them', async () => {
  await assert.rejects(resolveNetns('nsm-unit-no-such-ns'), (e: Error) => e instanceof FailedPreconditionError && e.message.includes('nsm-unit-no-such-ns'));
  await assert.rejects(resolveNetns('/proc/999999999/ns/net'), (e: Error) => e instanceof FailedPreconditionError && e.message.includes('/proc/999999999/ns/net'));
  await assert.rejects(resolveNetns('inode://1/2'), (e: Error) => e instanceof FailedPreconditionError && e.message.includes('inode://1/2'));
  assert.deepEqual(await resolveNetns('host'), { kind: 'host' });
});
