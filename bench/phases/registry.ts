// Bench phase `registry`: Find latency and registration rate with 10,000 endpoints (memory and etcd
// backends; 100,000 with --preload), slow Find(watch) streams, and the store-level etcd figures; each a child bench script.
import { readFileSync } from 'node:fs';
import { startEtcdCluster } from '../../test/e2e/helpers/etcd.js';
import { add, childJson, log, missing, ONLY, QUICK, wanted, type Phase } from '../lib/harness.js';

type Out = Awaited<ReturnType<typeof childJson>>;
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * The rows of one bench/registry.ts run, renamed with `suffix`; Find's p99, CPU per Find, the store's part and the
 * load go into the p50 row's note. With `cpuRow`, CPU per Find is also a row of its own (with its same-run baseline).
 */
function addRun(out: Out, suffix: string, what: string, cpuRow = false): void {
  const by = new Map(out.results.map((r) => [r.name, r]));
  const p99 = by.get('registry.find.p99')?.value;
  const cpu = by.get('registry.find.cpu');
  const storeCpu = by.get('registry.find.store-cpu')?.value;
  const n = by.get('registry.endpoints')?.value;
  const baselineLabel = by.get('registry.find.p50')?.baseline !== undefined ? BASELINE_LABEL : undefined;
  for (const r of out.results) {
    if (r.name === 'registry.endpoints' || r.name === 'registry.find.store-cpu') continue;
    if (r.name === 'registry.find.cpu' && !cpuRow) continue;
    const cpuNote = `CPU per Find (registry and client in one process) ${cpu?.value} ms${cpu?.baseline !== undefined ? ` (baseline ${cpu.baseline} ms)` : ''}`;
    const storeNote = storeCpu !== undefined ? `; the store's part (index and matching) ${storeCpu} us` : '';
    const note = r.name === 'registry.find.p50' ? `${n?.toLocaleString('en')} endpoints, ${what}; p99 ${p99} ms; ${cpuNote}${storeNote}; load average ${loadavg()}` : undefined;
    add({ ...r, name: `${r.name}${suffix}`, ...(note ? { note } : {}), ...(baselineLabel && r.baseline !== undefined ? { baselineLabel } : {}) });
  }
}

/** The same-run baseline of the 100k rows (bench/registry.ts --baseline). */
const BASELINE_LABEL = '1,000 endpoints, interleaved';
/** True when --only asks for nothing but the 100k rows (their names start with the 10k rows' names). */
const only100k = () => ONLY !== undefined && ONLY.every((o) => /^registry\.find\.(p50|p99|cpu)\.100k/.test(o));
const KEEP_100K = (r: { name: string }) => r.name.startsWith('registry.find.') || r.name === 'registry.endpoints';

async function registryPhase(): Promise<void> {
  const count = '10000';
  const finds = QUICK ? '300' : '2000';
  if (wanted('registry.find.p50', 'registry.register', 'registry.find.p99') && !only100k()) {
    log('registry: memory backend, 10,000 endpoints (bench/registry.ts)');
    try {
      const out = await childJson('registry.ts', ['--json', '--count', count, '--finds', finds]);
      addRun(out, '', 'memory backend, Find by name through the index');
    } catch (err) {
      missing('registry.find.p50', `bench/registry.ts failed: ${String(err).slice(0, 300)}`);
    }
  }
  if (wanted('registry.find.p50.100k', 'registry.find.cpu.100k')) {
    log('registry: memory backend, 100,000 endpoints (1,000 over gRPC, 99,000 put into the store), vs 1,000 interleaved');
    try {
      const out = await childJson('registry.ts', ['--json', '--count', '1000', '--preload', '99000', '--finds', QUICK ? '200' : '1000', '--baseline', '1000'], {}, 900_000);
      addRun({ results: out.results.filter(KEEP_100K) }, '.100k', 'memory backend (1,000 registered over gRPC, 99,000 put into the store directly); Find by exact name (upstream matches by substring), through the index (posting lists intersected)', true);
    } catch (err) {
      missing('registry.find.p50.100k', `bench/registry.ts --preload 99000 failed: ${String(err).slice(0, 300)}`);
    }
  }
  if (wanted('registry.find.p50.slow-watchers')) {
    log('registry: 200 Find(watch) streams that never read, 20,000 registrations, vs none (bench/registry-watchers.ts)');
    try {
      const out = await childJson('registry-watchers.ts', ['--json', '--count', QUICK ? '5000' : '20000', '--finds', QUICK ? '100' : '300'], {}, 600_000);
      for (const r of out.results) add(r);
    } catch (err) {
      missing('registry.find.p50.slow-watchers', `bench/registry-watchers.ts failed: ${String(err).slice(0, 300)}`);
    }
  }
  if (wanted('registry.find.p50.etcd', 'registry.register.per-second.etcd')) {
    log('registry: etcd backend, 10,000 endpoints (bench/registry.ts --backend etcd)');
    let etcd: Awaited<ReturnType<typeof startEtcdCluster>> | undefined;
    try {
      etcd = await startEtcdCluster(undefined, 1);
      const out = await childJson('registry.ts', ['--json', '--count', count, '--finds', QUICK ? '100' : '500', '--backend', 'etcd', '--etcd-endpoints', etcd.endpoints.join(',')]);
      addRun(out, '.etcd', "etcd backend, served from the store's watch-fed cache");
    } catch (err) {
      missing('registry.find.p50.etcd', `etcd run failed: ${String(err).slice(0, 300)}`);
    } finally {
      await etcd?.stop();
    }
  }
  if (wanted('registry.find.p50.100k.etcd', 'registry.find.cpu.100k.etcd')) {
    log('registry: etcd backend, 100,000 endpoints (1,000 over gRPC, 99,000 written to etcd in transactions of 128 puts)');
    let etcd: Awaited<ReturnType<typeof startEtcdCluster>> | undefined;
    try {
      etcd = await startEtcdCluster(undefined, 1);
      const out = await childJson('registry.ts', ['--json', '--count', '1000', '--preload', '99000', '--finds', QUICK ? '100' : '500', '--baseline', '1000', '--backend', 'etcd', '--etcd-endpoints', etcd.endpoints.join(',')], {}, 900_000);
      addRun({ results: out.results.filter(KEEP_100K) }, '.100k.etcd', "etcd backend (1,000 registered over gRPC, 99,000 written to etcd directly in transactions of 128 puts), served from the store's watch-fed cache through the index", true);
    } catch (err) {
      missing('registry.find.p50.100k.etcd', `etcd 100k run failed: ${String(err).slice(0, 300)}`);
    } finally {
      await etcd?.stop();
    }
  }
  if (wanted('registry.etcd.')) {
    log('registry: store-level etcd vs memory (bench/registry-etcd.ts)');
    try {
      const out = await childJson('registry-etcd.ts', []);
      for (const r of out.results) add(r);
    } catch (err) {
      missing('registry.etcd.find_latency', `bench/registry-etcd.ts failed: ${String(err).slice(0, 300)}`);
    }
  }
}

export const registry: Phase = { name: 'registry', run: registryPhase };
