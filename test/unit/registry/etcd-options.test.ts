// Parsing and validation of the `--etcd-*` command-line options.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import { parseEtcdOptions } from '../../../src/registry/etcd-options.js';

test('defaults: local etcd and /nsm/registry', () => {
  assert.deepEqual(parseEtcdOptions({}), { endpoints: ['http://127.0.0.1:2379'], prefix: '/nsm/registry' });
});

test('endpoints list, prefix trimming, TLS and auth', () => {
  const o = parseEtcdOptions({
    etcdEndpoints: 'https://198.19.0.1:2379, https://etcd-b:2379/',
    etcdPrefix: '/mesh/reg/',
    etcdCa: '/ca.pem',
    etcdCert: '/c.pem',
    etcdKey: '/k.pem',
    etcdUsername: 'u',
    etcdPassword: 'p',
  });
  assert.deepEqual(o, {
    endpoints: ['https://198.19.0.1:2379', 'https://etcd-b:2379'],
    prefix: '/mesh/reg',
    caFile: '/ca.pem',
    certFile: '/c.pem',
    keyFile: '/k.pem',
    username: 'u',
    password: 'p',
  });
});

for (const [values, pattern] of [
  [{ etcdEndpoints: 'not a url' }, /not a URL/],
  [{ etcdEndpoints: '127.0.0.1:2379' }, /scheme must be http or https|not a URL/],
  [{ etcdEndpoints: 'ftp://h:1' }, /scheme must be http or https/],
  [{ etcdEndpoints: 'http://h' }, /expected scheme:\/\/host:port/],
  [{ etcdEndpoints: 'http://h:1/path' }, /expected scheme:\/\/host:port/],
  [{ etcdEndpoints: ' , ' }, /no URL/],
  [{ etcdEndpoints: 'http://a:1,https://b:1' }, /mix of http and https/],
  [{ etcdPrefix: 'relative' }, /absolute key path/],
  [{ etcdCert: '/c.pem' }, /together/],
  [{ etcdUsername: 'u' }, /together/],
  [{ etcdCa: '/ca.pem' }, /https/],
] as const) {
  test(`rejects ${JSON.stringify(values)}`, () => {
    assert.throws(
      () => parseEtcdOptions(values),
      (err: unknown) => err instanceof InvalidArgumentError && pattern.test(err.message) && !err.message.includes('\n'),
    );
  });
}
