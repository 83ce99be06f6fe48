// The repository's address rule: inside namespaces, examples, tests and benchmarks only 169.254.0.0/16,
// 198.18.0.0/15 and 2001:db8::/32 (plus loopback, 0.0.0.0, masks and IPv6 link-local fe80::/10, which the
// kernel gives every IPv6 interface). Scans every tracked text file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SKIP = /^(package-lock\.json|src\/api\/generated\/)/;
const V4 = /(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w.]*\d)/g;
const V6_PRIVATE = /(?<![\w:])f[cd][0-9a-f]{2}:[0-9a-f:]*/gi;

function allowedV4(a: number[]): boolean {
  const [x, y] = a as [number, number];
  return (x === 169 && y === 254) || (x === 198 && (y === 18 || y === 19)) || x === 127 || a.every((o) => o === 0) || x === 255;
}

test('addresses: only 169.254.0.0/16, 198.18.0.0/15 and 2001:db8::/32 in the repository', () => {
  const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter((f) => f && !SKIP.test(f));
  const bad: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(ROOT + f, 'utf8');
    } catch {
      continue; // deleted in the work tree
    }
    text.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(V4)) {
        const octets = m.slice(1, 5).map(Number);
        if (octets.every((o) => o <= 255) && !allowedV4(octets)) bad.push(`${f}:${i + 1}: ${m[0]}`);
      }
      for (const m of line.matchAll(V6_PRIVATE)) bad.push(`${f}:${i + 1}: ${m[0]}`);
    });
  }
  assert.deepEqual(bad, []);
});
