// Runs test files by weight (scripts/test.sh runs the unit and end-to-end tiers with it): the files the
// list (e.g. test/e2e/serial.txt) marks `alone` run first, one at a time with nothing beside them; then
// the files it marks `heavy` run one at a time, beside unlisted (light) files, which fill the other
// slots, --jobs files at a time in all; a file of `group:NAME` never runs beside another of that group
// (a file may name several groups).
// Each file is its own node:test run (one child process); its spec output is printed as one block when
// it ends. Plain JS; started with `node --import tsx` (the test files' processes inherit it).
//
// node --import tsx scripts/schedule-tests.mjs --label e2e --list test/e2e/serial.txt --jobs N --tap FILE --durations FILE FILE...
// Exit status 1 when any file failed. Per-file durations of earlier runs (the durations cache, see
// below) order each class longest first, so the run does not end on one long file.
/* eslint-disable no-console */
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import fileDurations from './file-durations.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const jobs = Math.max(1, Number(opt('--jobs', '2')) || 2);
const tapOut = opt('--tap', undefined);
const durationsOut = opt('--durations', undefined);
const label = opt('--label', 'tests');
const listFile = opt('--list', undefined);
// Durations of earlier runs ("<ms> <pass> <fail> <file>" lines, as scripts/file-durations.mjs writes them).
const cacheFile = process.env.NSM_TEST_DURATIONS_CACHE ?? `node_modules/.cache/nsm-test/${label}-durations.txt`;
const files = args.filter((a) => a !== '--');
process.env.NSM_LOG_LEVEL ??= 'silent';

// The class column: `alone`, `heavy`, `group:NAME` (light, but never beside another file of group NAME) or
// `heavy,group:NAME`, each with any number of groups (`group:A,group:B`); a listed file without any of these
// words runs alone.
/** @type {Map<string, 'alone' | 'heavy'>} */
const classes = new Map();
/** @type {Map<string, string[]>} file -> its groups */
const groups = new Map();
for (const line of listFile ? readFileSync(listFile, 'utf8').split('\n') : []) {
  const [f, cls = ''] = line.trim().split(/\s+/);
  if (!f || f.startsWith('#')) continue;
  if (!existsSync(f)) console.log(`${listFile}: no such file: ${f}`);
  const words = cls.split(',');
  const fileGroups = words.filter((w) => w.startsWith('group:')).map((w) => w.slice('group:'.length));
  if (fileGroups.length) groups.set(f, fileGroups);
  if (words.includes('heavy')) classes.set(f, 'heavy');
  else if (!fileGroups.length) classes.set(f, 'alone');
}

/** @type {Map<string, number>} expected ms per file */
const expected = new Map();
try {
  for (const l of readFileSync(cacheFile, 'utf8').split('\n')) {
    const [ms, , , f] = l.split(' ');
    if (f) expected.set(f.replace(`${process.cwd()}/`, ''), Number(ms));
  }
} catch {
  // first run: file size stands in for the duration (longer files tend to run longer)
}
const estimate = (f) => expected.get(f) ?? statSync(f).size * 5;
const byLength = (a, b) => estimate(b) - estimate(a);
const queues = {
  alone: files.filter((f) => classes.get(f) === 'alone').sort(byLength),
  heavy: files.filter((f) => classes.get(f) === 'heavy').sort(byLength),
  light: files.filter((f) => !classes.has(f)).sort(byLength),
};

/** @type {Set<{ file: string, cls: string }>} */
const running = new Set();
/** @type {string[]} */
const failedFiles = [];
const started = Date.now();
const busy = { alone: 0, heavy: 0, light: 0, paired: 0 };
const newDurations = [];
const abort = new globalThis.AbortController();

function next() {
  const classesRunning = [...running].map((r) => r.cls);
  if (classesRunning.includes('alone')) return undefined;
  if (queues.alone.length) return running.size === 0 ? ['alone', queues.alone.shift()] : undefined;
  if (running.size >= jobs) return undefined;
  // The first file of a queue none of whose groups has a file running.
  const groupsRunning = new Set([...running].flatMap((r) => groups.get(r.file) ?? []));
  const take = (q) => {
    const i = q.findIndex((f) => !(groups.get(f) ?? []).some((g) => groupsRunning.has(g)));
    return i < 0 ? undefined : q.splice(i, 1)[0];
  };
  const heavy = classesRunning.includes('heavy') ? undefined : take(queues.heavy);
  if (heavy) return ['heavy', heavy];
  const light = take(queues.light);
  return light ? ['light', light] : undefined;
}

/** Runs one file through node:test's run() (its child inherits this process's --import tsx); resolves when its reports are written. */
async function runFile(cls, file) {
  const t0 = Date.now();
  const stream = run({ files: [file], concurrency: 1, signal: abort.signal });
  // One event stream, three reporters: spec (printed as one block at the end), tap and per-file durations.
  const tees = [0, 1, 2].map(() => new PassThrough({ objectMode: true }));
  let fails = 0;
  stream.on('data', (ev) => {
    if (ev.type === 'test:fail') fails++;
    for (const t of tees) t.write(ev);
  });
  stream.on('end', () => tees.forEach((t) => t.end()));
  let out = '';
  let tapText = '';
  let durations = '';
  const collect = (set) => async function (src) {
    for await (const chunk of src) set(String(chunk));
  };
  await Promise.all([
    pipeline(tees[0], new spec(), collect((c) => (out += c))),
    pipeline(tees[1], tap, collect((c) => (tapText += c))),
    pipeline(tees[2], fileDurations, collect((c) => (durations += c))),
  ]);
  const s = ((Date.now() - t0) / 1000).toFixed(1);
  const beside = [...running].filter((r) => r.file !== file).map((r) => r.file.replace(/^test\/[a-z0-9]+\//, ''));
  console.log(`── ${file} (${cls}, ${s} s${fails ? `, ${fails} failed` : ''})`);
  process.stdout.write(out.endsWith('\n') || !out ? out : `${out}\n`);
  if (beside.length) console.log(`   (ended beside ${beside.join(', ')})`);
  if (tapOut) appendFileSync(tapOut, tapText);
  if (durationsOut) appendFileSync(durationsOut, durations);
  newDurations.push(...durations.split('\n').filter(Boolean));
  if (fails) failedFiles.push(file);
}

function pump() {
  for (let n = next(); n; n = next()) {
    const [cls, file] = n;
    const entry = { file, cls };
    running.add(entry);
    void runFile(cls, file).then(() => {
      running.delete(entry);
      pump();
      if (running.size === 0) done();
    });
  }
}

// Time spent per class (and with a heavy and a light file side by side), for the summary line.
let last = Date.now();
const tick = setInterval(() => {
  const now = Date.now();
  const cls = [...running].map((r) => r.cls);
  const dt = (now - last) / 1000;
  last = now;
  if (cls.includes('alone')) busy.alone += dt;
  else if (cls.includes('heavy')) busy[cls.length > 1 ? 'paired' : 'heavy'] += dt;
  else if (cls.length) busy.light += dt;
}, 250);

function done() {
  clearInterval(tick);
  // Remember this run's durations (merged over the earlier ones) for the next run's order.
  try {
    for (const l of newDurations) {
      const [ms, , , f] = l.split(' ');
      if (f) expected.set(f.replace(`${process.cwd()}/`, ''), Number(ms));
    }
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileSync(cacheFile, [...expected].map(([f, ms]) => `${Math.round(ms)} 0 0 ${f}\n`).join(''));
  } catch {
    // no cache: the next run orders by size
  }
  const r = (x) => Math.round(x);
  console.log(`${label} schedule: ${files.length} files in ${r((Date.now() - started) / 1000)} s: alone ${r(busy.alone)} s, heavy alone ${r(busy.heavy)} s, heavy beside light ${r(busy.paired)} s, light only ${r(busy.light)} s`);
  if (failedFiles.length) console.log(`${label} files with failures: ${failedFiles.join(' ')}`);
  process.exitCode = failedFiles.length ? 1 : 0;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    abort.abort();
    process.exitCode = 130;
    setTimeout(() => process.exit(130), 5000).unref();
  });
}

if (files.length === 0) done();
else pump();
