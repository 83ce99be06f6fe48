// nsm-cni config and environment parsing: valid input, and each bad input with the spec's error code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, parseEnv } from '../../../src/platforms/cni/config.js';
import { requestSpecs } from '../../../src/components/cni-request-specs.js';
import { CniCode, CniError } from '../../../src/platforms/cni/errors.js';

const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const cfg = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'nsm', type: 'nsm-cni', nsmgr: 'unix:///run/nsm.sock', requests: ['kernel://svc/nsm-1?app=x'], ...extra });
const code = (fn: () => unknown): number => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CniError, String(err));
    return err.code;
  }
  assert.fail('no error');
};

test('a valid ADD environment and configuration parse', () => {
  const e = parseEnv(env);
  assert.equal(e.command, 'ADD');
  const c = parseConfig(cfg({ timeoutMs: 5000, args: { ignored: true } }), 'ADD');
  assert.equal(c.nsmgr, 'unix:///run/nsm.sock');
  assert.equal(c.timeoutMs, 5000);
  assert.equal(c.daemonSocket, '/run/nsm-cni/daemon.sock');
  assert.deepEqual(requestSpecs(c.requests, e.ifname), [{ url: 'kernel://svc/nsm-1?app=x', service: 'svc', ifname: 'nsm-1', labels: { app: 'x' } }]);
});

test('environment errors are code 4 and name the variables', () => {
  assert.equal(code(() => parseEnv({})), CniCode.InvalidEnv);
  assert.equal(code(() => parseEnv({ ...env, CNI_COMMAND: 'NOPE' })), CniCode.InvalidEnv);
  assert.throws(() => parseEnv({ ...env, CNI_NETNS: '', CNI_CONTAINERID: '' }), /CNI_CONTAINERID.*CNI_NETNS/);
  assert.equal(code(() => parseEnv({ ...env, CNI_IFNAME: 'much-too-long-name' })), CniCode.InvalidEnv);
  // DEL may come without a namespace (it is gone); VERSION needs nothing else.
  assert.equal(parseEnv({ ...env, CNI_COMMAND: 'DEL', CNI_NETNS: '' }).netns, '');
  assert.equal(parseEnv({ CNI_COMMAND: 'VERSION' }).command, 'VERSION');
});

test('configuration errors: not JSON is 6, bad fields are 7, unsupported version is 1', () => {
  assert.equal(code(() => parseConfig('{', 'ADD')), CniCode.DecodeFailure);
  assert.equal(code(() => parseConfig('[]', 'ADD')), CniCode.DecodeFailure);
  assert.equal(code(() => parseConfig(cfg({ cniVersion: '9.9.9' }), 'ADD')), CniCode.IncompatibleVersion);
  assert.equal(code(() => parseConfig(cfg({ requests: [] }), 'ADD')), CniCode.InvalidConfig);
  assert.equal(code(() => parseConfig(cfg({ requests: undefined }), 'ADD')), CniCode.InvalidConfig);
  assert.equal(code(() => parseConfig(cfg({ nsmgr: 'http://x' }), 'ADD')), CniCode.InvalidConfig);
  assert.equal(code(() => parseConfig(cfg({ timeoutMs: -1 }), 'ADD')), CniCode.InvalidConfig);
  assert.equal(code(() => parseConfig(cfg({ name: '' }), 'ADD')), CniCode.InvalidConfig);
  assert.throws(() => parseConfig(cfg({ requests: [] }), 'ADD'), /"requests" must be a non-empty list/);
});

test('request URLs: a bad URL is 7; unnamed interfaces take CNI_IFNAME, then CNI_IFNAME-N; duplicates are refused', () => {
  assert.equal(code(() => requestSpecs(parseConfig(cfg({ requests: ['vfio://x'] }), 'ADD').requests, 'eth0')), CniCode.InvalidConfig);
  const c = parseConfig(cfg({ requests: ['kernel://a', 'kernel://b/nsm-b', 'kernel://c?x=1'] }), 'ADD');
  assert.deepEqual(requestSpecs(c.requests, 'net1').map((r) => r.ifname), ['net1', 'nsm-b', 'net1-2']);
  const dup = parseConfig(cfg({ requests: ['kernel://a/x', 'kernel://b/x'] }), 'ADD');
  assert.equal(code(() => requestSpecs(dup.requests, 'eth0')), CniCode.InvalidConfig);
});
