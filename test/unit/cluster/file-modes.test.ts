// Issue 19 item 5: what `nsm up` and the forwarder write is not world-readable:
// state.json 0600 (the link ledger's 0600 is checked in link-ledger.test.ts; component
// logs are opened 0640 in proc.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeState, type MeshState } from '../../../src/cluster/state.js';

test('state.json is written 0600, also over an older world-readable file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stateFile = join(dir, 'state.json');
  writeFileSync(stateFile, '{}', { mode: 0o644 });
  const state = { version: 1, phase: 'up', createdAt: new Date().toISOString(), plan: { stateFile } as MeshState['plan'], procs: {} } as MeshState;
  const old = process.umask(0);
  try {
    await writeState(state);
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(stateFile).mode & 0o777, 0o600);
  assert.equal(JSON.parse(readFileSync(stateFile, 'utf8')).phase, 'up');
});

test('component logs are opened 0640 (source check: proc.ts and up.ts pass the mode)', () => {
  const proc = readFileSync(new URL('../../../src/cluster/proc.ts', import.meta.url), 'utf8');
  assert.match(proc, /openSync\(logFile\(plan, c\.name\), 'a', 0o640\)/);
  assert.match(proc, /fchmodSync\(err, 0o640\)/);
  const up = readFileSync(new URL('../../../src/cmd/up.ts', import.meta.url), 'utf8');
  assert.match(up, /supervisor\.log`, 'a', 0o640\)/);
});
