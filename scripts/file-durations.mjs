// node:test reporter (`--test-reporter=./scripts/file-durations.mjs`): one line per test file with the
// summed duration of its top-level tests and their counts, so scripts/test.sh can show which files take
// the suite's time. Lines: "<ms> <passed> <failed> <file>", slowest first. Plain JS: node loads
// reporters before tsx's hooks.

/** @param {AsyncIterable<{ type: string, data: any }>} source */
export default async function* fileDurations(source) {
  /** @type {Map<string, { ms: number, pass: number, fail: number }>} */
  const files = new Map();
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    const d = ev.data;
    if (!d.file || d.nesting !== 0) continue;
    const f = files.get(d.file) ?? { ms: 0, pass: 0, fail: 0 };
    files.set(d.file, f);
    f.ms += d.details.duration_ms;
    if (ev.type === 'test:pass') f.pass++;
    else f.fail++;
  }
  for (const [file, f] of [...files].sort((a, b) => b[1].ms - a[1].ms)) yield `${Math.round(f.ms)} ${f.pass} ${f.fail} ${file}\n`;
}
