import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseServiceUrl } from '../../../src/components/service-url.js';
import { Status } from '../../../src/api/errors.js';
import { hasCode } from './helpers.js';

describe('service-url', () => {
  const good: [string, ReturnType<typeof parseServiceUrl>][] = [
    ['kernel://svc/nsm-2?app=web&tier=front', { mechanism: 'kernel', service: 'svc', ifname: 'nsm-2', labels: { app: 'web', tier: 'front' } }],
    ['kernel://svc', { mechanism: 'kernel', service: 'svc', ifname: 'nsm-1', labels: {} }],
    ['kernel://svc/', { mechanism: 'kernel', service: 'svc', ifname: 'nsm-1', labels: {} }],
    ['kernel://My-Svc/If.1_x', { mechanism: 'kernel', service: 'My-Svc', ifname: 'If.1_x', labels: {} }],
    ['kernel://svc@cluster.example/eth9', { mechanism: 'kernel', service: 'svc', domain: 'cluster.example', ifname: 'eth9', labels: {} }],
    ['kernel://svc/nsm-3?endpoint=nse-7&app=x', { mechanism: 'kernel', service: 'svc', ifname: 'nsm-3', labels: { app: 'x' }, endpoint: 'nse-7' }],
    ['kernel://svc%20x/if?k=a%3Db', { mechanism: 'kernel', service: 'svc x', ifname: 'if', labels: { k: 'a=b' } }],
    ['kernel://svc/abcdefghijklmno', { mechanism: 'kernel', service: 'svc', ifname: 'abcdefghijklmno', labels: {} }],
  ];
  for (const [text, want] of good) {
    it(`parses ${text}`, () => assert.deepEqual(parseServiceUrl(text), want));
  }

  it('reads memif://svc/m0 as a MEMIF request whose path names the socket', () => {
    assert.deepEqual(parseServiceUrl('memif://fast/m0'), { mechanism: 'memif', service: 'fast', ifname: 'm0', labels: {} });
  });

  it('reads vhostuser://svc/v0 as a VHOSTUSER request whose path names the socket', () => {
    assert.deepEqual(parseServiceUrl('vhostuser://fast/v0?app=vm'), { mechanism: 'vhostuser', service: 'fast', ifname: 'v0', labels: { app: 'vm' } });
  });

  it('takes the default interface name when none is given', () => {
    assert.equal(parseServiceUrl('kernel://svc', 'eth0').ifname, 'eth0');
  });

  const bad: [string, RegExp][] = [
    ['not a url', /is not a service URL/],
    ['vfio://svc/if', /unsupported mechanism "vfio"/],
    ['kernel:///if', /network service name is missing/],
    ['kernel://svc/abcdefghijklmnop', /interface name "abcdefghijklmnop" must be 1-15/],
    ['kernel://svc/a/b', /interface name "a\/b"/],
    ['kernel://svc/if%20x', /interface name "if x"/],
  ];
  for (const [text, re] of bad) {
    it(`rejects ${text}`, () => assert.throws(() => parseServiceUrl(text), hasCode(Status.INVALID_ARGUMENT, re)));
  }
});
