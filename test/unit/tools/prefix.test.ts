import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Status } from '../../../src/api/errors.js';
import { familyOf, formatAddress, hostPrefix, overlaps, parseAddress, parsePrefix } from '../../../src/sdk/tools/prefix.js';
import { hasCode } from '../networkservice/helpers.js';

describe('prefix arithmetic', () => {
  it('parses and formats both families (IPv6 in RFC 5952 form)', () => {
    for (const [text, canon] of [
      ['169.254.1.2', '169.254.1.2'],
      ['2001:db8::1', '2001:db8::1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:1:0:0:0:0', '2001:db8:0:1::'],
      ['2001:db8:1:0:0:1:0:0', '2001:db8:1::1:0:0'],
      ['2001:db8:1:0:1:0:1:0', '2001:db8:1:0:1:0:1:0'],
      ['::', '::'],
      ['::1', '::1'],
      ['::ffff:198.18.2.3', '::ffff:c612:203'],
    ] as const) {
      const a = parseAddress(text);
      assert.equal(formatAddress(a.family, a.value), canon, text);
    }
    assert.throws(() => parseAddress('2001:db8::g'), hasCode(Status.INVALID_ARGUMENT));
  });

  it('prefixes are ranges; a bare address is a host prefix', () => {
    const p = parsePrefix('2001:db8:1::5/64');
    assert.equal(formatAddress(6, p.first), '2001:db8:1::');
    assert.equal(formatAddress(6, p.last), '2001:db8:1:0:ffff:ffff:ffff:ffff');
    assert.equal(parsePrefix('2001:db8::7').bits, 128);
    assert.equal(parsePrefix('169.254.1.9/30').first, parseAddress('169.254.1.8').value);
    assert.ok(overlaps(parsePrefix('2001:db8::/32'), parsePrefix('2001:db8:5::/48')));
    assert.ok(!overlaps(parsePrefix('169.254.0.0/16'), parsePrefix('2001:db8::/32')), 'families never overlap');
    assert.equal(hostPrefix(6, parseAddress('2001:db8::1').value), '2001:db8::1/128');
    assert.equal(familyOf('2001:db8::/64'), 6);
    assert.equal(familyOf('nope'), undefined);
    for (const bad of ['2001:db8::/129', '169.254.0.0/33', 'x/8', '198.18.2.3/']) {
      assert.throws(() => parsePrefix(bad, 'cidr'), hasCode(Status.INVALID_ARGUMENT, /cidr/));
    }
  });
});
