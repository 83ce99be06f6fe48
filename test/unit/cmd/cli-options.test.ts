// cidrsArg: `--cidr` / NSM_CIDR_PREFIX take a comma-separated list of prefixes of either family.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { cidrsArg } from '../../../src/cmd/cli-options.js';

test('cidrsArg: IPv4, IPv6 and both, spaces trimmed', () => {
  assert.deepEqual(cidrsArg('169.254.1.0/24'), ['169.254.1.0/24']);
  assert.deepEqual(cidrsArg('2001:db8:1::/64'), ['2001:db8:1::/64']);
  assert.deepEqual(cidrsArg('169.254.1.0/24, 2001:db8:1::/64,'), ['169.254.1.0/24', '2001:db8:1::/64']);
});

test('cidrsArg: a bad entry is a commander error naming it', () => {
  for (const bad of ['2001:db8::/129', '169.254.1.0/24,nope', '300.1.1.1/8']) {
    assert.throws(() => cidrsArg(bad), (err: unknown) => err instanceof InvalidArgumentError && /cidr/.test(err.message), bad);
  }
});
