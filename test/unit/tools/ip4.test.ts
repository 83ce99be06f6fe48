import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Status } from '../../../src/api/errors.js';
import { formatIp4, overlaps, parseCidr4, parseIp4 } from '../../../src/sdk/tools/ip4.js';

describe('ip4', () => {
  it('parses and formats addresses as unsigned 32-bit numbers', () => {
    assert.equal(parseIp4('0.0.0.0'), 0);
    assert.equal(parseIp4('169.254.0.1'), 0xa9fe0001);
    assert.equal(parseIp4('255.255.255.255'), 0xffffffff);
    assert.equal(formatIp4(0xffffffff), '255.255.255.255');
    assert.equal(formatIp4(0xc6120301), '198.18.3.1');
    for (const a of ['169.254.2.4', '198.19.254.0', '0.0.0.0']) assert.equal(formatIp4(parseIp4(a)), a);
  });

  it('rejects non-addresses with INVALID_ARGUMENT', () => {
    for (const bad of ['1.2.3', '256.0.0.1', '2001:db8::1', '', 'a.b.c.d']) {
      assert.throws(() => parseIp4(bad), (e: { code: number }) => e.code === Status.INVALID_ARGUMENT, bad);
    }
  });

  it('parses CIDRs to their first and last address (host bits dropped)', () => {
    const c = parseCidr4('198.18.3.4/16');
    assert.equal(formatIp4(c.first), '198.18.0.0');
    assert.equal(formatIp4(c.last), '198.18.255.255');
    assert.equal(c.prefix, 16);
    assert.equal(c.text, '198.18.3.4/16');
    const host = parseCidr4('169.254.2.3');
    assert.deepEqual([host.prefix, host.first, host.last], [32, parseIp4('169.254.2.3'), parseIp4('169.254.2.3')]);
    const all = parseCidr4('0.0.0.0/0');
    assert.deepEqual([all.first, all.last], [0, 0xffffffff]);
  });

  it('rejects bad CIDRs', () => {
    for (const bad of ['169.254.0.0/33', '169.254.0.0/', '169.254.0.0/-1', '169.254.0.0/x', '169.254.0/16', '2001:db8::/64']) {
      assert.throws(() => parseCidr4(bad), (e: { code: number }) => e.code === Status.INVALID_ARGUMENT, bad);
    }
  });

  it('overlaps', () => {
    assert.equal(overlaps(parseCidr4('169.254.0.0/24'), parseCidr4('169.254.0.128/25')), true);
    assert.equal(overlaps(parseCidr4('169.254.0.0/25'), parseCidr4('169.254.0.128/25')), false);
    assert.equal(overlaps(parseCidr4('169.254.0.255'), parseCidr4('169.254.0.0/24')), true);
    assert.equal(overlaps(parseCidr4('0.0.0.0/0'), parseCidr4('198.19.1.1')), true);
  });
});
