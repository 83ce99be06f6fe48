// vL3 benchmark phase: `nsm up` of a vL3 network (3 nodes, 3 instances, N clients: 50, or 6 with
// --quick), then new clients join one at a time; vl3.join.p50 is the time from starting a new `nsm
// nsc` (process start included) until every client of the network answers an echo to its address.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { IcmpProber } from '../src/dataplane/icmp-prober.js';
import { ROOT } from '../test/e2e/helpers/mesh.js';

export interface Vl3BenchContext {
  quick: boolean;
  add: (r: { name: string; value: number; unit: string; note?: string }) => void;
  log: (msg: string) => void;
}

const nsm = (...args: string[]) => spawnSync(process.execPath, ['bin/nsm.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });

function scenario(name: string, clients: number): string {
  const nodes = ['node-1', 'node-2', 'node-3'];
  return [
    `name: ${name}`,
    `nodes: [${nodes.join(', ')}]`,
    'services:',
    '  - name: vl3-net',
    'endpoints:',
    ...nodes.map((n, i) => `  - { name: vl3-${i + 1}, node: ${n}, kind: vl3, services: [vl3-net], cidr: 169.254.16.0/20 }`),
    'clients:',
    ...Array.from({ length: clients }, (_, i) => `  - { name: c${i + 1}, node: ${nodes[i % 3]}, requests: ["kernel://vl3-net/nsm-1"] }`),
    '',
  ].join('\n');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function vl3Phase(ctx: Vl3BenchContext): Promise<void> {
  const clients = ctx.quick ? 6 : 50;
  const joins = ctx.quick ? 3 : 10;
  const name = `bv${process.pid % 100000}`;
  const dir = mkdtempSync(join(tmpdir(), 'vl3-bench-'));
  const file = join(dir, 'vl3.yaml');
  writeFileSync(file, scenario(name, clients));
  const prober = new IcmpProber();
  const extra: { proc: ChildProcess; ns: string }[] = [];
  try {
    ctx.log(`vl3: nsm up with ${clients} clients`);
    const t0 = Date.now();
    const up = nsm('up', file, '--detach', '--timeout', '600s');
    if (up.status !== 0) throw new Error(`nsm up failed: ${up.stderr.slice(-500)}`);
    ctx.add({ name: 'vl3.up.ms', value: Date.now() - t0, unit: 'ms', note: `${clients} clients, 3 instances` });
    const st = JSON.parse(nsm('status', name, '--json').stdout) as { runDir: string; connections: { client: string; srcIp: string }[] };
    const members = st.connections.map((c) => ({ ns: `${name}-${c.client}`, ip: c.srcIp.split('/')[0]! }));
    const times: number[] = [];
    /** Until the new nsc printed its connection (process start + Request). */
    const connected: number[] = [];
    for (let k = 0; k < joins; k++) {
      const ns = `${name}-j${k}`;
      spawnSync('ip', ['netns', 'add', ns]);
      spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const node = `node-${(k % 3) + 1}`;
      const start = performance.now();
      const proc = spawn('ip', ['netns', 'exec', `${name}-${node}`, process.execPath, 'bin/nsm.js', 'nsc', '--name', `j${k}`, '--netns', ns, '--nsmgr', `unix://${st.runDir}/sock/nsmgr-${node}.sock`, 'kernel://vl3-net/nsm-1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
      extra.push({ proc, ns });
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: proc.stdout }).once('line', resolve);
        proc.once('exit', (code) => reject(new Error(`nsc j${k} exited (${code})`)));
      });
      const ip = (JSON.parse(line) as { srcIp: string }).srcIp.split('/')[0]!;
      connected.push(performance.now() - start);
      let pending = members;
      while (pending.length > 0) {
        const res = await Promise.all(pending.map((m) => prober.echo(`/var/run/netns/${m.ns}`, ip, 300)));
        pending = pending.filter((_, i) => res[i] !== 'reply');
        if (performance.now() - start > 60_000) throw new Error(`j${k} not reachable from ${pending.length} clients after 60 s`);
      }
      times.push(performance.now() - start);
      members.push({ ns, ip });
    }
    ctx.add({ name: 'vl3.join.p50', value: median(times), unit: 'ms', note: `a new client reachable from all ${clients}+ others (nsc process start included), ${joins} joins` });
    ctx.add({ name: 'vl3.join.connected.p50', value: median(connected), unit: 'ms', note: 'of which: until the new nsc printed its connection (process start + Request)' });
  } finally {
    prober.close();
    for (const e of extra) {
      e.proc.kill('SIGTERM');
    }
    await new Promise((r) => setTimeout(r, 1000));
    nsm('down', name);
    for (const e of extra) spawnSync('ip', ['netns', 'del', e.ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}
