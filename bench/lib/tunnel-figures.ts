// The figures of a remote-mechanism bench script (bench/throughput-<mechanism>.ts): iperf3 through a
// mesh connection and through the same kind of tunnel set up by hand, alternating, then timed
// Request + Close cycles; printed as the `{ results }` JSON that bench phases read.
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

/** Measures and prints the script's JSON on stdout. */
export async function measureTunnel(r: TunnelRun): Promise<void> {
  const { reps, seconds, requests } = r.args;
  const ours: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < reps; i++) {
    ours.push((await iperf(r.ours.serverNs, r.ours.serverIp, r.ours.clientNs, seconds)) / 1e9);
    raw.push((await iperf(r.raw.serverNs, r.raw.serverIp, r.raw.clientNs, seconds)) / 1e9);
  }
  await r.client.close(r.conn);
  const ms: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    const x = await r.client.request({ service: 'icmp-responder', ifname: 'nsm-rq', netnsUrl: `file:///var/run/netns/${r.clientNs}` });
    ms.push(performance.now() - t0);
    await r.client.close(x);
  }
  const results = [
    { name: `throughput.${r.mechanism}`, value: r3(median(ours)), unit: 'Gbit/s', baseline: r3(median(raw)), ratio: r3(median(ours) / median(raw)) },
    { name: `request.remote.p50.${r.mechanism}`, value: r3(median(ms)), unit: 'ms' },
  ];
  process.stdout.write(`${JSON.stringify({ reps, seconds, samples: { ours: ours.map(r3), raw: raw.map(r3), requestMs: ms.map(r3) }, results }, null, 2)}\n`);
}
