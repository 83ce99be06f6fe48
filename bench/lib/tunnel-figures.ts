// The figures of a remote-mechanism bench script (bench/throughput-<mechanism>.ts): iperf3 through a
// mesh connection and through the same kind of tunnel set up by hand, alternating (ABBA, so neither
// always runs first), then timed Request + Close cycles; printed as the `{ results }` JSON that bench
// phases read, with the load average around the measurement in each throughput row's note.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Connection } from '../../src/api/index.js';
import type { MeshClient } from '../../src/components/client.js';
import { iperf } from '../../test/e2e/helpers/mesh.js';

/** `--reps N --seconds S --requests N` of such a script. */
export function tunnelArgs(): { reps: number; seconds: number; requests: number } {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, seconds: { type: 'string', default: '4' }, requests: { type: 'string', default: '20' } } });
  return { reps: Number(values.reps), seconds: Number(values.seconds), requests: Number(values.requests) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
export const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** An iperf3 pair: server namespace and address, client namespace. */
export interface IperfPair {
  serverNs: string;
  serverIp: string;
  clientNs: string;
}

export interface TunnelRun {
  /** Lower-case mechanism name: rows `throughput.<name>` and `request.remote.p50.<name>`. */
  mechanism: string;
  args: { reps: number; seconds: number; requests: number };
  /** Through the mesh connection `conn` (closed after the iperf3 runs). */
  ours: IperfPair;
  raw: IperfPair;
  client: MeshClient;
  conn: Connection;
  /** The client's namespace for the timed Request + Close cycles. */
  clientNs: string;
}

/** What each mechanism's hand-made baseline is (README table). */
const BASELINE_LABELS: Record<string, string> = {
  srv6: 'the same seg6 tunnel by hand',
  wireguard: 'the same wireguard-go tunnel by hand',
  ipsec: 'two charons with kernel-libipsec set up by hand (swanctl)',
};

/** Each workload interface's kernel settings (ip -d link, offloads): NSM_BENCH_DUMP=1 prints them to stderr, to compare ours with the baseline. */
function dumpConfig(r: TunnelRun): void {
  for (const [label, ns] of [['ours client', r.ours.clientNs], ['ours server', r.ours.serverNs], ['raw client', r.raw.clientNs], ['raw server', r.raw.serverNs]] as const) {
    const links = JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link'], { encoding: 'utf8' })) as { ifname: string }[];
    for (const { ifname } of links.filter((l) => l.ifname !== 'lo')) {
      let offloads = ['(no ethtool)'];
      try {
        offloads = execFileSync('ip', ['netns', 'exec', ns, 'ethtool', '-k', ifname], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter((l) => /: on/.test(l) && !/fixed/.test(l)).map((l) => l.split(':')[0]!.trim());
      } catch {
        // ethtool is not installed
      }
      process.stderr.write(`== ${label} ${ns} ${ifname}\n${execFileSync('ip', ['-n', ns, '-d', 'link', 'show', ifname], { encoding: 'utf8' })}${execFileSync('ip', ['-n', ns, 'addr', 'show', ifname], { encoding: 'utf8' })}${execFileSync('ip', ['-n', ns, 'route'], { encoding: 'utf8' })}offloads on: ${offloads.join(' ')}\n`);
    }
  }
}

/** Measures and prints the script's JSON on stdout. */
export async function measureTunnel(r: TunnelRun): Promise<void> {
  const { reps, seconds, requests } = r.args;
  if (process.env.NSM_BENCH_DUMP) dumpConfig(r);
  const ours: number[] = [];
  const raw: number[] = [];
  const load = [loadavg()[0]!];
  const one = async (p: IperfPair, into: number[]) => into.push((await iperf(p.serverNs, p.serverIp, p.clientNs, seconds)) / 1e9);
  for (let i = 0; i < reps; i++) {
    if (i % 2 === 0) {
      await one(r.ours, ours);
      await one(r.raw, raw);
    } else {
      await one(r.raw, raw);
      await one(r.ours, ours);
    }
  }
  load.push(loadavg()[0]!);
  await r.client.close(r.conn);
  const ms: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    const x = await r.client.request({ service: 'icmp-responder', ifname: 'nsm-rq', netnsUrl: `file:///var/run/netns/${r.clientNs}` });
    ms.push(performance.now() - t0);
    await r.client.close(x);
  }
  const results = [
    {
      name: `throughput.${r.mechanism}`,
      value: r3(median(ours)),
      unit: 'Gbit/s',
      baseline: r3(median(raw)),
      baselineLabel: BASELINE_LABELS[r.mechanism] ?? 'the same tunnel by hand',
      ratio: r3(median(ours) / median(raw)),
      note: `median of ${reps} x ${seconds} s, alternating; load average ${load.map((x) => x.toFixed(1)).join(' -> ')}`,
    },
    { name: `request.remote.p50.${r.mechanism}`, value: r3(median(ms)), unit: 'ms' },
  ];
  process.stdout.write(`${JSON.stringify({ reps, seconds, samples: { ours: ours.map(r3), raw: raw.map(r3), requestMs: ms.map(r3) }, results }, null, 2)}\n`);
}
