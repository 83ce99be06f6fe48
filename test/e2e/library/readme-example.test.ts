// The README's TypeScript example, unchanged, as a user runs it: a scratch ESM package installs this
// project by path (offline: a link, no registry), the block between the README's readme-example
// markers is written verbatim, type-checked against the published declarations and run against a
// real mesh (`nsm up examples/demo.yaml` under a test-unique name); it must exit 0 by itself.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { netnsWith, nsm } from '../helpers/cluster.js';
import { ROOT, ensureBuilt, links } from '../helpers/mesh.js';

const uid = process.getuid?.() ?? 1;
const MARK = /<!-- readme-example:library[^>]*-->\n```ts\n([\s\S]*?)```\n<!-- \/readme-example:library -->/;

/** The README's library example, exactly as printed there. */
function readmeExample(): string {
  const m = MARK.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(m, 'README.md has a ```ts block between <!-- readme-example:library --> and <!-- /readme-example:library -->');
  return m[1]!;
}

test('README example: extracted by its markers, imports only the package', () => {
  const code = readmeExample();
  assert.match(code, /from 'nsm-ts';/);
  assert.doesNotMatch(code, /from '\.\//, 'no deep imports into the repository');
});

test('README example: runs unchanged from a scratch package against a real mesh and exits 0', { skip: uid !== 0 && 'needs root', timeout: 300_000 }, (t) => {
  ensureBuilt();
  const name = `t${process.pid}l`;
  const dir = mkdtempSync(join(tmpdir(), 'nsm-readme-'));
  t.after(() => {
    nsm('down', name);
    for (const ns of netnsWith(`${name}-`)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  // A scratch ESM package that installs this project by path (a link: offline, no registry needed).
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', ROOT], { cwd: dir, stdio: 'pipe' });
  writeFileSync(join(dir, 'example.ts'), readmeExample());

  // It type-checks against the package's declarations (dist/index.d.ts via package.json "exports").
  const require = createRequire(join(ROOT, 'package.json'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
      files: ['example.ts'],
    }),
  );
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
  assert.equal(tsc.status, 0, `the README example does not type-check:\n${tsc.stdout}${tsc.stderr}`);

  const up = nsm('up', 'examples/demo.yaml', '--detach', '--name', name);
  assert.equal(up.code, 0, up.stdout + up.stderr);

  // Run it as a user would (TypeScript through tsx), from the scratch dir; it must end by itself.
  const run = spawnSync(process.execPath, ['--import', require.resolve('tsx'), 'example.ts'], {
    cwd: dir,
    env: { ...process.env, MESH: name, NSM_LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 90_000,
  });
  assert.equal(run.signal, null, `the example did not exit by itself (killed by ${run.signal}):\n${run.stdout}${run.stderr}`);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /\[ '169\.254\.7\.\d+\/32' \]/);
  assert.ok(!links(`${name}-nsc-1`).includes('my-1'), 'the connection was closed: no my-1 left in the client namespace');
});
