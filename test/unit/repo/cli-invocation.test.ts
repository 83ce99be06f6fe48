// One way to run the CLI in the docs and in the CLI's own hints: `npx nsm ...` (in a clone, as root);
// never `sudo nsm` (not on PATH) or `node bin/nsm.js`. Also: no pointer to a DESIGN.md the repository lacks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NSM_CMD } from '../../../src/cluster/paths.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const files = execFileSync('git', ['ls-files', 'README.md', 'examples', 'src/cmd', 'src/cluster'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

test('docs and CLI hints run the CLI one way: npx nsm', () => {
  assert.equal(NSM_CMD, 'npx nsm');
  const bad: string[] = [];
  for (const f of files) {
    readFileSync(ROOT + f, 'utf8').split('\n').forEach((line, i) => {
      if (f.endsWith('.ts') && /^\s*(\/\/|\/?\*)/.test(line)) return; // how processes are spawned, in comments
      if (/sudo (npx )?nsm\b|node bin\/nsm\.js|sudo node\b|ip netns exec \S+ nsm\b|try: sudo/.test(line)) bad.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(bad, []);
  for (const f of files.filter((x) => x.endsWith('.yaml'))) {
    const run = readFileSync(ROOT + f, 'utf8').split('\n').find((l) => l.startsWith('# Run'));
    assert.match(run ?? '', /npx nsm up examples\//, f);
  }
});

test('no pointer to a DESIGN.md the repository does not have', () => {
  if (existsSync(ROOT + 'DESIGN.md')) return;
  const bad = files.filter((f) => /DESIGN/.test(readFileSync(ROOT + f, 'utf8')));
  assert.deepEqual(bad, []);
});
