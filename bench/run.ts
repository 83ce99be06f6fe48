// The benchmark suite (README: Performance): every figure with its baseline measured in the same run.
// The mesh runs as separate `nsm` processes (registry, nsmgr, forwarder, nse) like production; requests
// are driven by MeshClient from this process. Phases live in bench/phases/ (registry: bench/phases/index.ts).
//   npm run bench [-- --json] [--quick] [--only name,...] [--write]
// --write merges the rows into bench/results.json and regenerates README's table and bench/RESULTS.md.
// Namespaces are named b<pid>-*, and they and every spawned process are removed even on failure/Ctrl-C.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { GOALS, goalStatus, goalText } from './lib/goals.js';
import { args, cleanupSync, IPERF_REPS, IPERF_SECONDS, log, ONLY, ptpSamples, QUICK, r3, results, RUNS, runAfterFns, sweepStale, wanted } from './lib/harness.js';
import { writeTables } from './lib/render.js';
import { mergeRun, readStore, writeStore } from './lib/store.js';
import { PHASES } from './phases/index.js';

function table(): string {
  const rows = results.map((r) => {
    const g = GOALS[r.name];
    const goal = g ? `${goalText(g)} ${r.missing ? '(missing)' : goalStatus(r) === 'met' ? 'met' : 'MISSED'}` : '';
    return [r.name, r.missing ? `missing: ${r.missing}` : `${r.value} ${r.unit}`, r.baseline === undefined ? '' : `${r.baseline} ${r.unit}`, r.ratio === undefined ? '' : String(r.ratio), goal];
  });
  const head = ['figure', 'value', 'baseline', 'ratio', 'goal'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => Math.min(r[i]!.length, 70))));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  await sweepStale();
  for (const phase of PHASES) {
    try {
      await phase.run();
    } catch (err) {
      log(`${phase.name} phase failed: ${(err as Error).stack ?? String(err)}`);
      results.push({ name: `${phase.name}.*`, missing: `phase failed: ${String(err).slice(0, 300)}` });
    }
  }
  if (wanted('request.local.p50') || wanted('request.remote.p50') || wanted('cni.add.p50')) {
    results.push({ name: 'baseline.cni-ptp.samples', value: ptpSamples(), unit: 'runs' });
  }
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: r3(totalmem() / 2 ** 30), node: process.version, kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim() };
  const command = `npm run bench --${args.json ? ' --json' : ''}${QUICK ? ' --quick' : ''}${ONLY ? ` --only ${ONLY.join(',')}` : ''}`;
  const meta = { command, quick: QUICK, requestRuns: RUNS, iperf: { reps: IPERF_REPS, seconds: IPERF_SECONDS }, seconds: Math.round((Date.now() - started) / 1000), machine };
  if (args.write) {
    const date = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
    const loadavg = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ')[0];
    const store = mergeRun(readStore(), { id: `${Date.now()}`, date, ...meta, note: `load average ${loadavg} at the end` }, results);
    writeStore(store);
    writeTables(store);
    log('bench/results.json, README.md and bench/RESULTS.md updated');
  }
  if (args.json) process.stdout.write(`${JSON.stringify({ results, ...meta }, null, 2)}\n`);
  else process.stdout.write(`${table()}\n\n${JSON.stringify(meta)}\n`);
}

try {
  await main();
} finally {
  await runAfterFns();
  cleanupSync();
}
process.exit(0);
