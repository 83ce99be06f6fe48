// throughput.kernel.ipv6: iperf3 over IPv6 through a local kernel (veth) mesh connection from an
// IPv6-only endpoint, against a raw veth pair carrying IPv6 (addresses set by iproute2) measured in
// the same run, alternating. The mesh runs as separate `nsm` processes. Prints JSON.
// Run: node --import tsx bench/throughput-ipv6.ts [--reps N] [--seconds S]
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { createTestNetns, deleteTestNetns } from '../test/e2e/helpers/netns.js';
import { freePort, iperf, Mesh } from '../test/e2e/helpers/mesh.js';

process.env.NSM_LOG_LEVEL ??= 'warn';
const execFileP = promisify(execFile);
const ip = (...a: string[]) => execFileP('ip', a);
const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '3' }, seconds: { type: 'string', default: '4' } } });
const REPS = Number(args.reps);
const SECONDS = Number(args.seconds);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const after: (() => unknown)[] = [];
  const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
  const names = await createTestNetns(undefined, 'v6-nse', 'v6-c0', 'v6-rawa', 'v6-rawb');
  const [nse, c0, rawA, rawB] = names;
  try {
    const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
    const nsmgrUrl = mesh.sock('nsmgr');
    await mesh.registry({ listen: registryUrl });
    await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl });
    await mesh.forwarder({ name: 'fwd-1', listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1' });
    await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '2001:db8:1::/64' });
    const client = await MeshClient.create({ name: 'bench-nsc', nsmgrUrl });
    const conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-tp6', netnsUrl: `file:///var/run/netns/${c0}` });
    const dst = conn.context!.ipContext!.dstIpAddrs[0]!.split('/')[0]!;
    // The baseline: a raw veth pair with an IPv6 /64 on each end (no DAD), set up by iproute2.
    await ip('link', 'add', 'veth0', 'netns', rawA, 'type', 'veth', 'peer', 'name', 'veth1', 'netns', rawB);
    await ip('-n', rawA, 'addr', 'add', '2001:db8:ffff::1/64', 'dev', 'veth0', 'nodad');
    await ip('-n', rawB, 'addr', 'add', '2001:db8:ffff::2/64', 'dev', 'veth1', 'nodad');
    await ip('-n', rawA, 'link', 'set', 'veth0', 'up');
    await ip('-n', rawB, 'link', 'set', 'veth1', 'up');
    const ours: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < REPS; i++) {
      ours.push((await iperf(nse, dst, c0, SECONDS)) / 1e9);
      raw.push((await iperf(rawB, '2001:db8:ffff::2', rawA, SECONDS)) / 1e9);
    }
    const value = median(ours);
    const baseline = median(raw);
    const results = [{ name: 'throughput.kernel.ipv6', value: r3(value), unit: 'Gbit/s', baseline: r3(baseline), ratio: r3(value / baseline) }];
    process.stdout.write(`${JSON.stringify({ reps: REPS, seconds: SECONDS, samples: { ours: ours.map(r3), raw: raw.map(r3) }, results }, null, 2)}\n`);
    await client.close(conn);
  } finally {
    closeAllChannels();
    for (const fn of after) await Promise.resolve(fn()).catch(() => undefined);
    for (const n of names) await deleteTestNetns(n).catch(() => undefined);
  }
}

await main();
process.exit(0);
