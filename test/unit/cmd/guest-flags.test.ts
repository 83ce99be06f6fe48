// `nsm vm` and `nsm vm-endpoint` refuse bad flags before anything starts: exit code 2 and one line naming the flag.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../src/cmd/main.ts', import.meta.url));
const nsm = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', env: { ...process.env, NSM_LOG_LEVEL: 'silent' } });
const common = ['--tag', 'nsm-ts:unit:vm', '--state-dir', '/nonexistent/state', '--console', '/nonexistent/console'];

test('bad guest flags: exit 2, one line naming the flag', () => {
  for (const [args, re] of [
    [['vm', ...common, '--connection-file', '/nonexistent/c', '--mem', '5'], /^nsm: vm: --mem must be an integer of at least 64 \(MB\), got "5"\n$/],
    [['vm-endpoint', ...common, '--mem', 'lots'], /^nsm: vm-endpoint: --mem must be/],
    [['vm-endpoint', ...common, '--bridge', 'a b'], /^nsm: vm-endpoint: --bridge must be an interface name/],
    [['vm-endpoint', ...common, '--bridge', 'vm0'], /^nsm: vm-endpoint: --bridge and --tap must differ\n$/],
  ] as const) {
    const r = nsm(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
