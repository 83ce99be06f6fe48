// Merges the JSON of an earlier `npm run bench -- --json ...` run (saved to a file) into bench/results.json and
// regenerates README's table and bench/RESULTS.md, as `--write` would have at the end of that run (for runs made
// with --json only, e.g. while another --write run was going). Run: node --import tsx bench/merge-json.ts FILE [LOADAVG]
import { readFileSync } from 'node:fs';
import { writeTables } from './lib/render.js';
import { mergeRun, readStore, writeStore, type RunMeta } from './lib/store.js';

const [file, load] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: bench/merge-json.ts FILE [LOADAVG]\n');
  process.exit(2);
}
const out = JSON.parse(readFileSync(file, 'utf8')) as { results: Parameters<typeof mergeRun>[2]; command: string; [k: string]: unknown };
const { results, ...meta } = out;
const date = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
const run: RunMeta = { ...meta, id: `${Date.now()}`, date, note: `load average ${load ?? '?'} at the end` };
const store = mergeRun(readStore(), run, results);
writeStore(store);
writeTables(store);
process.stderr.write('bench/results.json, README.md and bench/RESULTS.md updated\n');
