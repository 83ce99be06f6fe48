// Bench phase `registry`: Find latency and registration rate with 10,000 endpoints (memory and etcd
// backends), slow Find(watch) streams, and the store-level etcd figures; each a child bench script.
import { startEtcdCluster } from '../../test/e2e/helpers/etcd.js';
import { add, childJson, log, missing, QUICK, wanted, type Phase } from '../lib/harness.js';

async function registryPhase(): Promise<void> {
  const count = '10000';
  const finds = QUICK ? '300' : '2000';
  if (wanted('registry.find.p50', 'registry.register', 'registry.find.p99')) {
    log('registry: memory backend, 10,000 endpoints (bench/registry.ts)');
    try {
      const out = await childJson('registry.ts', ['--json', '--count', count, '--finds', finds]);
      for (const r of out.results) if (r.name !== 'registry.endpoints') add(r);
    } catch (err) {
      missing('registry.find.p50', `bench/registry.ts failed: ${String(err).slice(0, 300)}`);
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
      for (const r of out.results) if (r.name !== 'registry.endpoints') add({ ...r, name: `${r.name}.etcd` });
    } catch (err) {
      missing('registry.find.p50.etcd', `etcd run failed: ${String(err).slice(0, 300)}`);
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
