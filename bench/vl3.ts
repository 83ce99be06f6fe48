// vL3 benchmark phase: `nsm up` of a vL3 network (3 nodes, 3 vL3 instances, no scenario clients), then
// 50 members (6 with --quick) join it as in-process MeshClients of this bench (one namespace each), then
// new clients join one at a time: vl3.join.p50 is the time from a new client's Request until every
// member answers an in-process ICMP echo to its address (all probes in parallel, no process spawned).
// Baseline, interleaved: a Request of a new client (on node-1, 2 or 3 in turn, as the joins) to an
// icmp-responder on node-1 of the same mesh.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshClient } from '../src/components/client.js';
import { IcmpProber } from '../src/dataplane/icmp-prober.js';
import { ROOT } from '../test/e2e/helpers/mesh.js';

export interface Vl3BenchContext {
  quick: boolean;
  add: (r: { name: string; value: number; unit: string; note?: string; baseline?: number; baselineLabel?: string; ratio?: number }) => void;
  log: (msg: string) => void;
}

const nsm = (...args: string[]) => spawnSync(process.execPath, ['bin/nsm.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });
const NODES = ['node-1', 'node-2', 'node-3'];

function scenario(name: string): string {
  return [
    `name: ${name}`,
    `nodes: [${NODES.join(', ')}]`,
    'services:',
    '  - name: vl3-net',
    '  - name: icmp',
    'endpoints:',
    ...NODES.map((n, i) => `  - { name: vl3-${i + 1}, node: ${n}, kind: vl3, services: [vl3-net], cidr: 169.254.16.0/20 }`),
    '  - { name: icmp-1, node: node-1, kind: icmp-responder, services: [icmp], cidr: 169.254.40.0/24 }',
    '',
  ].join('\n');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const loadavg = () => spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');

interface Member {
  ns: string;
  ip: string;
  client: MeshClient;
}

export async function vl3Phase(ctx: Vl3BenchContext): Promise<void> {
  const size = ctx.quick ? 6 : 50;
  const joins = ctx.quick ? 3 : 10;
  const name = `bv${process.pid % 100000}`;
  const dir = mkdtempSync(join(tmpdir(), 'vl3-bench-'));
  const file = join(dir, 'vl3.yaml');
  writeFileSync(file, scenario(name));
  // A fine tick: replies that need a cross-node round trip are read within 5 ms, not the default 50.
  const prober = new IcmpProber({ tickMs: 5 });
  const members: Member[] = [];
  const others: Member[] = [];
  const namespaces: string[] = [];
  try {
    ctx.log(`vl3: nsm up with 3 instances`);
    // A loaded machine can miss nsm up's 20 s readiness window for a component: try again (up to 3 times).
    for (let attempt = 1; ; attempt++) {
      const up = nsm('up', file, '--detach', '--timeout', '300s');
      if (up.status === 0) break;
      if (attempt === 3) throw new Error(`nsm up failed: ${up.stderr.slice(-500)}`);
      ctx.log(`vl3: nsm up failed (${up.stderr.trim().split('\n')[0]}); again`);
      nsm('down', name);
    }
    const st = JSON.parse(nsm('status', name, '--json').stdout) as { runDir: string };
    /** A client in its own namespace on node `k % 3`: MeshClient with the data-path check `nsm nsc` uses. */
    const join = async (label: string, k: number, service = 'vl3-net'): Promise<{ member: Member; requestMs: number; start: number }> => {
      const ns = `${name}-${label}`;
      spawnSync('ip', ['netns', 'add', ns]);
      namespaces.push(ns);
      spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const client = await MeshClient.create({ name: label, nsmgrUrl: `unix://${st.runDir}/sock/nsmgr-${NODES[k % 3]}.sock`, livenessIntervalMs: 1000 });
      const start = performance.now();
      const conn = await client.request({ service, ifname: 'nsm-1', netnsUrl: `file:///var/run/netns/${ns}` });
      const requestMs = performance.now() - start;
      return { member: { ns, ip: conn.context!.ipContext!.srcIpAddrs[0]!.split('/')[0]!, client }, requestMs, start };
    };
    ctx.log(`vl3: ${size} members join (10 at a time)`);
    const t0 = performance.now();
    for (let i = 0; i < size; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, size - i) }, (_, j) => join(`c${i + j + 1}`, i + j)));
      members.push(...batch.map((b) => b.member));
    }
    ctx.add({ name: 'vl3.members.up.ms', value: Math.round(performance.now() - t0), unit: 'ms', note: `${size} in-process clients joining 10 at a time (load ${loadavg()})` });
    const times: number[] = [];
    const requests: number[] = [];
    const baseline: number[] = [];
    for (let k = 0; k < joins; k++) {
      const plain = await join(`p${k}`, k, 'icmp');
      baseline.push(plain.requestMs);
      others.push(plain.member);
      const { member, requestMs, start } = await join(`j${k}`, k);
      requests.push(requestMs);
      let pending = members;
      while (pending.length > 0) {
        const res = await Promise.all(pending.map((m) => prober.echo(`/var/run/netns/${m.ns}`, member.ip, 300)));
        pending = pending.filter((_, i) => res[i] !== 'reply');
        if (performance.now() - start > 60_000) throw new Error(`j${k} not reachable from ${pending.length} members after 60 s`);
      }
      times.push(performance.now() - start);
      members.push(member);
    }
    const note = `${joins} joins, each reachable from all ${size}+ members (in-process clients, parallel in-process echoes; load ${loadavg()})`;
    const b = median(baseline);
    const r1 = (x: number) => Math.round(x * 10) / 10;
    ctx.add({ name: 'vl3.join.p50', value: r1(median(times)), unit: 'ms', baseline: r1(b), baselineLabel: 'Request to an icmp-responder, same mesh', ratio: Math.round((median(times) / b) * 1000) / 1000, note });
    ctx.add({ name: 'vl3.join.request.p50', value: Math.round(median(requests) * 10) / 10, unit: 'ms', note: 'of which: the Request until the connection is returned' });
  } finally {
    prober.close();
    await Promise.all([...members, ...others].map((m) => m.client.shutdown(5000).catch(() => undefined)));
    nsm('down', name);
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}
