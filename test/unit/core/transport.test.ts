import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMeshUrl, grpcAddress, parseMeshUrl } from '../../../src/api/transport.js';
import { InvalidArgumentError } from '../../../src/api/errors.js';

describe('transport: parseMeshUrl', () => {
  it('parses unix:///absolute/path', () => {
    assert.deepEqual(parseMeshUrl('unix:///var/lib/nsm/nsm.io.sock'), { kind: 'unix', path: '/var/lib/nsm/nsm.io.sock' });
    assert.deepEqual(parseMeshUrl('unix:///tmp/x'), { kind: 'unix', path: '/tmp/x' });
  });

  it('parses tcp://host:port', () => {
    assert.deepEqual(parseMeshUrl('tcp://127.0.0.1:5001'), { kind: 'tcp', host: '127.0.0.1', port: 5001 });
    assert.deepEqual(parseMeshUrl('tcp://nsmgr.example-ns.svc:5001'), { kind: 'tcp', host: 'nsmgr.example-ns.svc', port: 5001 });
    assert.deepEqual(parseMeshUrl('tcp://localhost:0'), { kind: 'tcp', host: 'localhost', port: 0 });
    assert.deepEqual(parseMeshUrl('tcp://h:65535'), { kind: 'tcp', host: 'h', port: 65535 });
  });

  it('parses a bare host:port as tcp', () => {
    assert.deepEqual(parseMeshUrl('169.254.0.1:80'), { kind: 'tcp', host: '169.254.0.1', port: 80 });
    assert.deepEqual(parseMeshUrl('registry:5002'), { kind: 'tcp', host: 'registry', port: 5002 });
  });

  it('parses bracketed IPv6 hosts (keeping the brackets)', () => {
    assert.deepEqual(parseMeshUrl('tcp://[::1]:5001'), { kind: 'tcp', host: '[::1]', port: 5001 });
    assert.deepEqual(parseMeshUrl('[2001:db8::1:2]:80'), { kind: 'tcp', host: '[2001:db8::1:2]', port: 80 });
    assert.deepEqual(parseMeshUrl('tcp://[2001:db8::a]:1'), { kind: 'tcp', host: '[2001:db8::a]', port: 1 });
  });

  const bad = [
    '',
    'unix://relative/path',
    'unix://',
    'tcp://',
    'tcp://host',
    'tcp://host:',
    'tcp://:5001',
    'host',
    'tcp://host:65536',
    'tcp://host:123456',
    'tcp://host:port',
    'tcp://host:-1',
    'http://host:80',
    'tcp://::1:5001',
    'tcp://[::1]',
    'tcp://[zz::1]:80',
    'tcp://user@host:80',
    'tcp://host:80/path',
    'tcp://ho st:80',
  ];
  for (const url of bad) {
    it(`rejects ${JSON.stringify(url)} with InvalidArgumentError`, () => {
      assert.throws(() => parseMeshUrl(url), InvalidArgumentError);
    });
  }
});

describe('transport: grpcAddress / formatMeshUrl', () => {
  it('gives grpc-js addresses', () => {
    assert.equal(grpcAddress('unix:///tmp/a.sock'), 'unix:///tmp/a.sock');
    assert.equal(grpcAddress('tcp://127.0.0.1:5001'), '127.0.0.1:5001');
    assert.equal(grpcAddress('localhost:7'), 'localhost:7');
    assert.equal(grpcAddress('tcp://[::1]:5001'), '[::1]:5001');
  });

  it('formats URLs back to text (round trip)', () => {
    for (const url of ['unix:///tmp/a.sock', 'tcp://127.0.0.1:5001', 'tcp://[::1]:9']) {
      assert.equal(formatMeshUrl(parseMeshUrl(url)), url);
    }
    assert.equal(formatMeshUrl(parseMeshUrl('h:1')), 'tcp://h:1');
  });
});
