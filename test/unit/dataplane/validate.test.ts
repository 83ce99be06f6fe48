// Unit: input validation of kernel operations (InvalidArgumentError naming the field).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import { checkAlias, checkCidr, checkIfName, checkIp, checkMtu, checkVni } from '../../../src/dataplane/index.js';
import { checkSysctl } from '../../../src/dataplane/validate.js';

const rejects = (fn: () => unknown, field: string) =>
  assert.throws(fn, (e: Error) => e instanceof InvalidArgumentError && e.message.startsWith(field + ':'));

test('interface names: 1-15 chars of [A-Za-z0-9_.-]', () => {
  for (const ok of ['a', 'eth0', 'nsm-1234567890a', 'v_1.2']) assert.equal(checkIfName('name', ok), ok);
  for (const bad of ['', 'a234567890123456', 'a b', 'a/b', '.', '..', 'x#', 'é', 42, undefined]) rejects(() => checkIfName('name', bad), 'name');
});

test('CIDRs: IPv4 and IPv6 with prefix bounds; bare address is a host prefix', () => {
  assert.deepEqual(checkCidr('cidr', '169.254.0.1/32'), { family: 4, address: '169.254.0.1', prefixLen: 32 });
  assert.deepEqual(checkCidr('cidr', '2001:db8::1/64'), { family: 6, address: '2001:db8::1', prefixLen: 64 });
  assert.deepEqual(checkCidr('cidr', '198.18.0.1'), { family: 4, address: '198.18.0.1', prefixLen: 32 });
  assert.equal(checkCidr('cidr', '2001:db8::1').prefixLen, 128);
  for (const bad of ['169.254.0.1/33', '169.254.0.256/32', '2001:db8::1/129', '198.18.2.4/', '198.18.2.4/a', '198.18.2.4/-1', 'x', '', null]) {
    rejects(() => checkCidr('cidr', bad), 'cidr');
  }
  assert.equal(checkIp('via', '198.18.0.1').family, 4);
  rejects(() => checkIp('via', '198.18.0.1/32'), 'via');
});

test('VNI, MTU and alias ranges', () => {
  assert.equal(checkVni('vni', 1), 1);
  assert.equal(checkVni('vni', 16777215), 16777215);
  for (const bad of [0, 2 ** 24, -1, 1.5, '5']) rejects(() => checkVni('vni', bad), 'vni');
  assert.equal(checkMtu('mtu', 1500), 1500);
  for (const bad of [67, 65536, NaN]) rejects(() => checkMtu('mtu', bad), 'mtu');
  assert.equal(checkAlias('alias', 'nsm:abc-1'), 'nsm:abc-1');
  for (const bad of ['', 'a b', 'a"b', "a'b", 'a#b', 'a\\b', 'x'.repeat(256), undefined]) rejects(() => checkAlias('alias', bad), 'alias');
});

test('sysctl keys stay under net. and values are plain', () => {
  assert.deepEqual(checkSysctl('net.ipv4.ip_forward', 1), { path: 'net/ipv4/ip_forward', value: '1' });
  assert.deepEqual(checkSysctl('net/ipv4/conf/eth0.1/forwarding', '1'), { path: 'net/ipv4/conf/eth0.1/forwarding', value: '1' });
  for (const k of ['kernel.panic', 'net/../kernel/panic', 'net.ipv4.ip_forward;rm', 'net//x']) rejects(() => checkSysctl(k, 1), 'key');
  rejects(() => checkSysctl('net.ipv4.ip_forward', '1; reboot'), 'value');
});
