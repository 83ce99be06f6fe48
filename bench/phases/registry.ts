// Bench phase `registry`: Find latency and registration rate with 10,000 endpoints (memory and etcd
// backends; 100,000 with --preload), slow Find(watch) streams, and the store-level etcd figures; each a child bench script.
import { readFileSync } from 'node:fs';
import { startEtcdCluster } from '../../test/e2e/helpers/etcd.js';
import { add, childJson, log, missing, QUICK, wanted, type Phase } from '../lib/harness.js';

type Out = Awaited<ReturnType<typeof childJson>>;
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** The rows of one bench/registry.ts run, renamed with `suffix`; Find's p99, CPU per Find and the load go into the p50 row's note. */
function addRun(out: Out, suffix: string, what: string): void {
  const by = new Map(out.results.map((r) => [r.name, r]));
  const p99 = by.get('registry.find.p99')?.value;
  const cpu = by.get('registry.find.cpu')?.value;
  const n = by.get('registry.endpoints')?.value;
  for (const r of out.results) {
    if (r.name === 'registry.endpoints' || r.name === 'registry.find.cpu') continue;
    const note = r.name === 'registry.find.p50' ? `${n?.toLocaleString('en')} endpoints, ${what}; p99 ${p99} ms; CPU per Find (registry and client in one process) ${cpu} ms; load average ${loadavg()}` : undefined;
    add({ ...r, name: `${r.name}${suffix}`, ...(note ? { note } : {}) });
  }
}

async function registryPhase(): Promise<void> {
  const count = '10000';
  const finds = QUICK ? '300' : '2000';
  if (wanted('registry.find.p50', 'registry.register', 'registry.find.p99')) {
    log('registry: memory backend, 10,000 endpoints (bench/registry.ts)');
    try {
      const out = await childJson('registry.ts', ['--json', '--count', count, '--finds', finds]);
      addRun(out, '', 'memory backend, Find by name through the index');
    } catch (err) {
      missing('registry.find.p50', `bench/registry.ts failed: ${String(err).slice(0, 300)}`);
    }
  }
  if (wanted('registry.find.p50.100k')) {
    log('registry: memory backend, 100,000 endpoints (1,000 over gRPC, 99,000 put into the store)');
    try {
      const out = await childJson('registry.ts', ['--json', '--count', '1000', '--preload', '99000', '--finds', finds], {}, 900_000);
      const keep = out.results.filter((r) => r.name.startsWith('registry.find.') || r.name === 'registry.endpoints');
      addRun({ results: keep }, '.100k', 'memory backend (1,000 registered over gRPC, 99,000 put into the store directly)');
    } catch (err) {
      missing('registry.find.p50.100k', `bench/registry.ts --preload 90000 failed: ${String(err).slice(0, 300)}`);
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
  if (wanted('registry.find.p50.100k.etcd')) {
    log('registry: etcd backend, 100,000 endpoints (1,000 over gRPC, 99,000 written to etcd in transactions of 128 puts)');
    let etcd: Awaited<ReturnType<typeof startEtcdCluster>> | undefined;
    try {
      etcd = await startEtcdCluster(undefined, 1);
      const out = await childJson('registry.ts', ['--json', '--count', '1000', '--preload', '99000', '--finds', QUICK ? '100' : '500', '--backend', 'etcd', '--etcd-endpoints', etcd.endpoints.join(',')], {}, 900_000);
      const keep = out.results.filter((r) => r.name.startsWith('registry.find.') || r.name === 'registry.endpoints');
      addRun({ results: keep }, '.100k.etcd', "etcd backend (1,000 registered over gRPC, 99,000 written to etcd directly in transactions of 128 puts), served from the store's watch-fed cache");
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
