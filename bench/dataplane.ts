// Micro-benchmark: veth pair + addresses + up through KernelDriver (long-lived ip -batch channels)
// vs. the same through one `ip` process spawn per operation (raw iproute2). Prints JSON.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KernelDriver, aliasFor } from '../src/dataplane/index.js';
import { createTestNetns, deleteTestNetns } from '../test/e2e/helpers/netns.js';

const execFileP = promisify(execFile);
const RUNS = Math.min(Number(process.env.BENCH_RUNS ?? 20), 35);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const [a, b] = await createTestNetns(undefined, 'bench-a', 'bench-b');
  const driver = new KernelDriver();
  const alias = aliasFor('bench');
  const viaDriver = async (i: number) => {
    await driver.createVeth({ name: `bd${i}`, netns: a, peerName: `bp${i}`, peerNetns: b, alias });
    await driver.addAddress(a, `bd${i}`, `169.254.${i}.1/32`);
    await driver.addAddress(b, `bp${i}`, `169.254.${i}.2/32`);
  };
  const viaDriverParallel = async (i: number) => {
    await driver.createVeth({ name: `bd${i}`, netns: a, peerName: `bp${i}`, peerNetns: b, alias });
    await Promise.all([driver.addAddress(a, `bd${i}`, `169.254.${i}.1/32`), driver.addAddress(b, `bp${i}`, `169.254.${i}.2/32`)]);
  };
  const ip = (...args: string[]) => execFileP('ip', args);
  const viaSpawn = async (i: number) => {
    await ip('link', 'add', `bd${i}`, 'netns', a, 'type', 'veth', 'peer', 'name', `bp${i}`, 'netns', b);
    await ip('-n', a, 'link', 'set', 'dev', `bd${i}`, 'alias', alias, 'up');
    await ip('-n', b, 'link', 'set', 'dev', `bp${i}`, 'alias', alias, 'up');
    await ip('-n', a, 'addr', 'add', `169.254.${i}.1/32`, 'dev', `bd${i}`);
    await ip('-n', b, 'addr', 'add', `169.254.${i}.2/32`, 'dev', `bp${i}`);
  };
  // `base` keeps names unique per measurement: the reused-names case forces ip's stale-cache retry.
  const measure = async (fn: (i: number) => Promise<void>, base: number): Promise<number> => {
    const times: number[] = [];
    for (let k = 0; k <= RUNS; k++) {
      const i = base + k;
      const t0 = performance.now();
      await fn(i);
      const dt = performance.now() - t0;
      if (k > 0) times.push(dt); // run 0 warms up (channel spawn)
      await driver.deleteLink(a, `bd${i}`);
    }
    return median(times);
  };
  // Single-operation latency: set MTU on an existing link.
  const opTimes = async (fn: (i: number) => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i <= RUNS * 2; i++) {
      const t0 = performance.now();
      await fn(i);
      if (i > 0) times.push(performance.now() - t0);
    }
    return median(times);
  };
  try {
    const spawnMs = await measure(viaSpawn, 0);
    const driverMs = await measure(viaDriver, 40);
    const parallelMs = await measure(viaDriverParallel, 80);
    const reusedMs = await measure(viaDriver, 40);
    await driver.createVeth({ name: 'bop', netns: a, peerName: 'bop', peerNetns: b, alias });
    const opDriver = await opTimes((i) => driver.setMtu(a, 'bop', 1400 + (i % 2)));
    const opSpawn = await opTimes((i) => ip('-n', a, 'link', 'set', 'dev', 'bop', 'mtu', String(1400 + (i % 2))));
    const results = [
      { name: 'dataplane.veth_setup.kernel_driver', value: round(driverMs), unit: 'ms', baseline: round(spawnMs), ratio: round(driverMs / spawnMs) },
      { name: 'dataplane.veth_setup.kernel_driver_parallel_ns', value: round(parallelMs), unit: 'ms', baseline: round(spawnMs), ratio: round(parallelMs / spawnMs) },
      { name: 'dataplane.veth_setup.kernel_driver_reused_names', value: round(reusedMs), unit: 'ms', baseline: round(spawnMs), ratio: round(reusedMs / spawnMs) },
      { name: 'dataplane.veth_setup.iproute2_spawn', value: round(spawnMs), unit: 'ms' },
      { name: 'dataplane.op.set_mtu.kernel_driver', value: round(opDriver), unit: 'ms', baseline: round(opSpawn), ratio: round(opDriver / opSpawn) },
    ];
    process.stdout.write(JSON.stringify({ runs: RUNS, results }, null, 2) + '\n');
  } finally {
    driver.close();
    await deleteTestNetns(a);
    await deleteTestNetns(b);
  }
}

await main();
