// Micro-benchmark: a local KERNEL connection's kernel work (veth pair into two namespaces, alias+up,
// IPv4 and IPv6 addresses and a route on each side, then deletion) through KernelDriver over in-process
// rtnetlink vs over its `ip -batch` channels, interleaved. CPU counts this process and its ip children.
// Run: node --import tsx bench/kernel-path.ts [rounds]. Prints JSON.
import { readFileSync } from 'node:fs';
import { KernelDriver, aliasFor } from '../src/dataplane/index.js';
import { treeTicks } from './lib/proc-stats.js';
import { createTestNetns, deleteTestNetns } from '../test/e2e/helpers/netns.js';

const ROUNDS = Number(process.argv[2] ?? 30);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const [a, b] = await createTestNetns(undefined, 'kp-a', 'kp-b');
  const drivers = { rtnl: new KernelDriver({ rtnl: true }), ip: new KernelDriver({ rtnl: false }) };
  if (!drivers.rtnl.usesRtnl) throw new Error('rtnetlink is not available here');
  const alias = aliasFor('bench');
  const one = async (d: KernelDriver, i: number) => {
    const [x, y] = [`kx${i}`, `ky${i}`];
    const t0 = performance.now();
    await d.createVeth({ name: x, netns: a, peerName: y, peerNetns: b, alias });
    const side = (ns: string, dev: string, n: number) =>
      Promise.all([
        d.addAddress(ns, dev, `169.254.${i % 250}.${n}/32`),
        d.addAddress(ns, dev, `2001:db8:${i.toString(16)}::${n}/128`),
        d.addRoute(ns, { prefix: `169.254.${i % 250}.${3 - n}/32`, dev }),
      ]);
    await Promise.all([side(a, x, 1), side(b, y, 2)]);
    const made = performance.now() - t0;
    const t1 = performance.now();
    await d.deleteLink(a, x);
    return { made, del: performance.now() - t1 };
  };
  const res: Record<string, { made: number[]; del: number[]; ticks: number; cpuUs: number }> = {
    rtnl: { made: [], del: [], ticks: 0, cpuUs: 0 },
    ip: { made: [], del: [], ticks: 0, cpuUs: 0 },
  };
  try {
    for (const d of Object.values(drivers)) await one(d, 0); // warm up (channels, sockets)
    for (let r = 1; r <= ROUNDS; r++) {
      for (const [name, d] of r % 2 ? Object.entries(drivers) : Object.entries(drivers).reverse()) {
        const t = treeTicks(process.pid);
        const c = process.cpuUsage();
        const { made, del } = await one(d, r);
        const cu = process.cpuUsage(c);
        res[name]!.cpuUs += cu.user + cu.system;
        res[name]!.ticks += treeTicks(process.pid) - t;
        res[name]!.made.push(made);
        res[name]!.del.push(del);
      }
    }
  } finally {
    for (const d of Object.values(drivers)) d.close();
    await Promise.all([deleteTestNetns(a), deleteTestNetns(b)]);
  }
  const round = (x: number) => Math.round(x * 100) / 100;
  const out = Object.fromEntries(
    Object.entries(res).map(([k, v]) => [
      k,
      { createConfigureMsP50: round(median(v.made)), deleteMsP50: round(median(v.del)), selfCpuMs: round(v.cpuUs / 1000 / ROUNDS), treeCpuMs: round((v.ticks * 10) / ROUNDS) },
    ]),
  );
  console.log(JSON.stringify({ rounds: ROUNDS, load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '), ...out }));
}

await main();
process.exit(0);
