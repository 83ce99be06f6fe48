// Benchmark: CPU spent on data-path liveness for many connections (issue 12). 1,000 veth pairs from
// NS client namespaces to one endpoint namespace, each end with its own /31 address, answered by the
// kernel; one check per connection per second, scheduled as the heal element does (LivenessBeat)
// and run by the client's echoLiveness. Process CPU (process.cpuUsage) over the window, as
// percent of one core. Baseline, when a ping binary exists: the old check (`nsenter --net=NS ping -c1`,
// one process per check), its CPU per check (ours + children) measured on a sample and scaled to the
// same rate. Prints JSON. Run: node --import tsx bench/liveness.ts [--conns 1000] [--ns 100] [--seconds 10]
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';
import { Connection } from '../src/api/index.js';
import { echoLiveness } from '../src/dataplane/echo-liveness.js';
import { IcmpProber } from '../src/dataplane/icmp-prober.js';
import { LivenessBeat } from '../src/sdk/networkservice/liveness-beat.js';
import { kernelMechanism, P } from '../src/sdk/tools/mechanisms.js';

const execFileP = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    conns: { type: 'string', default: '1000' },
    ns: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    'baseline-checks': { type: 'string', default: '40' },
  },
});
const CONNS = Number(args.conns);
const NS = Math.min(Number(args.ns), CONNS);
const SECONDS = Number(args.seconds);
const INTERVAL_MS = 1000;
const PREFIX = `b${process.pid}-l`;
const EP = `${PREFIX}ep`;
const clientNs = (k: number) => `${PREFIX}c${k}`;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const log = (m: string) => process.stderr.write(`[bench liveness] ${m}\n`);

/** 169.254.0.0/16 split into /31s: connection i's client end and endpoint end. */
const addr = (i: number, end: 0 | 1) => {
  const n = 2 * i + end;
  return `169.254.${n >> 8}.${n & 255}`;
};

/** Runs `ip [-n NS] -batch -` with these lines. */
async function batch(lines: string[], ns?: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', [...(ns ? ['-n', ns] : []), '-batch', '-'], { maxBuffer: 16 << 20 }, (err, _o, stderr) =>
      err ? reject(new Error(`ip -batch${ns ? ` -n ${ns}` : ''}: ${stderr.trim() || err.message}`)) : resolve(),
    );
    child.stdin!.end(lines.join('\n') + '\n');
  });
}

const namespaces = () => [EP, ...Array.from({ length: NS }, (_, k) => clientNs(k))];
function cleanup(): void {
  spawnSync('ip', ['-batch', '-'], { input: namespaces().map((n) => `netns del ${n}`).join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'] });
}
process.once('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

const mac = (i: number, end: 0 | 1) => `02:00:0${end}:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

/**
 * The veths, their addresses and static (permanent) neighbour entries: the kernel's ARP and ND tables
 * are shared by all namespaces and hold about 1,000 learned entries in all, so 2,000 learned entries
 * would fail here (ENOBUFS) and starve everyone else's namespaces; permanent ones do not count. IPv6
 * is off in these namespaces for the same reason (each interface would add multicast ND entries).
 */
async function setup(): Promise<Connection[]> {
  await batch(namespaces().map((n) => `netns add ${n}`));
  await promisify(execFile)('sh', ['-c', 'for n in "$@"; do ip netns exec "$n" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1 || exit 1; done', 'sh', ...namespaces()]);
  const veths: string[] = [];
  const perNs = new Map<number, string[]>();
  const ep: string[] = ['link set lo up'];
  for (let i = 0; i < CONNS; i++) {
    const k = i % NS;
    veths.push(`link add lc${i} address ${mac(i, 0)} netns ${clientNs(k)} type veth peer name le${i} address ${mac(i, 1)} netns ${EP}`);
    const lines = perNs.get(k) ?? ['link set lo up'];
    lines.push(`addr add ${addr(i, 0)}/31 dev lc${i}`, `link set lc${i} up`, `neigh replace ${addr(i, 1)} lladdr ${mac(i, 1)} dev lc${i} nud permanent`);
    perNs.set(k, lines);
    ep.push(`addr add ${addr(i, 1)}/31 dev le${i}`, `link set le${i} up`, `neigh replace ${addr(i, 0)} lladdr ${mac(i, 0)} dev le${i} nud permanent`);
  }
  await batch(veths);
  await batch(ep, EP);
  for (const [k, lines] of perNs) await batch(lines, clientNs(k));
  return Array.from({ length: CONNS }, (_, i) =>
    Connection.fromPartial({
      id: `conn-${i}`,
      mechanism: kernelMechanism({ [P.name]: `lc${i}`, [P.inodeURL]: `file:///var/run/netns/${clientNs(i % NS)}` }),
      context: { ipContext: { dstIpAddrs: [`${addr(i, 1)}/32`] } },
    }),
  );
}

/** Checks every connection once a second for `seconds`, scheduled as the heal element does (LivenessBeat). */
async function measureOurs(conns: Connection[]): Promise<{ percent: number; checks: number; alive: number; dead: number; cannot: number }> {
  const live = echoLiveness({ prober: new IcmpProber() });
  const beat = new LivenessBeat(INTERVAL_MS);
  let measuring = false;
  const tally = { checks: 0, alive: 0, dead: 0, cannot: 0 };
  const checking = new Set<string>();
  const keepAlive = setInterval(() => undefined, 60_000); // the beat's timer does not hold the process
  const stops = conns.map((c) =>
    beat.add(() => {
      if (checking.has(c.id)) return; // as heal: no overlapping checks of one connection
      checking.add(c.id);
      void live.check(c).then((v) => {
        checking.delete(c.id);
        if (!measuring) return;
        tally.checks++;
        if (v === 'alive') tally.alive++;
        else if (v === 'dead') tally.dead++;
        else tally.cannot++;
      });
    }),
  );
  await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS)); // warm up: sockets open, JIT settled
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  const used = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  if (process.env.BENCH_DEBUG) {
    log(`user ${used.user / 1000} ms, system ${used.system / 1000} ms over ${wall} ms`);
    for (const tid of readdirSync('/proc/self/task')) {
      const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ');
      const x = f[1]!.split(' ');
      log(`thread ${tid} ${f[0]!.split('(')[1]}: utime ${x[11]} stime ${x[12]}`);
    }
  }
  stops.forEach((stop) => stop());
  clearInterval(keepAlive);
  await new Promise((r) => setTimeout(r, 1200)); // let checks in flight finish
  live.close();
  return { percent: ((used.user + used.system) / 1000 / wall) * 100, ...tally };
}

/** CPU ms (this process + waited-for children) per old-style check: `nsenter --net=NS ping -c1 -q -n -W1 DST`. */
async function spawnCheckCpuMs(conns: Connection[], n: number): Promise<number | undefined> {
  if (spawnSync('sh', ['-c', 'command -v ping']).status !== 0) return undefined;
  const childTicks = () => {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return Number(f[13]) + Number(f[14]); // cutime + cstime (clock ticks of 10 ms)
  };
  const c0 = childTicks();
  const p0 = process.cpuUsage();
  for (let j = 0; j < n; j++) {
    const c = conns[j % conns.length]!;
    const ns = c.mechanism!.parameters[P.inodeURL]!.slice('file://'.length);
    await execFileP('nsenter', [`--net=${ns}`, 'ping', '-c1', '-q', '-n', '-W1', c.context!.ipContext!.dstIpAddrs[0]!.split('/')[0]!]);
  }
  const own = process.cpuUsage(p0);
  return ((childTicks() - c0) * 10 + (own.user + own.system) / 1000) / n;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  log(`${CONNS} veth pairs from ${NS} client namespaces to one endpoint namespace`);
  const conns = await setup();
  log(`set up in ${Date.now() - t0} ms; checking each once a second for ${SECONDS} s`);
  const ours = await measureOurs(conns);
  log(`ours: ${r3(ours.percent)} % of one core; ${ours.checks} checks (${ours.alive} alive, ${ours.dead} dead, ${ours.cannot} cannot check)`);
  const perSpawn = await spawnCheckCpuMs(conns, Number(args['baseline-checks']));
  const baseline = perSpawn === undefined ? undefined : (perSpawn * CONNS * (1000 / INTERVAL_MS)) / 10; // ms per s -> % of a core
  // CPU per check times the nominal rate (each connection once per interval): the timers of a busy
  // machine fire a little late, so fewer checks than nominal ran in the window.
  const perCheckUs = ours.checks ? ((ours.percent / 100) * SECONDS * 1e6) / ours.checks : 0;
  const percent = (perCheckUs * CONNS * (1000 / INTERVAL_MS)) / 1e4;
  const results = [
    {
      name: `liveness.cpu.percent.${CONNS}`,
      value: r3(percent),
      unit: '%',
      ...(baseline === undefined ? {} : { baseline: r3(baseline), ratio: r3(percent / baseline) }),
      note:
        `${CONNS} connections (veth pairs, ${NS} client namespaces), one in-process ICMP echo each per ${INTERVAL_MS} ms for ${SECONDS} s: ` +
        `${ours.checks} checks (${r3(ours.percent)} % of a core measured), ${ours.alive} answered, ${ours.dead} not, ${ours.cannot} could not run; ` +
        `${r3(perCheckUs)} us CPU per check (kernel round trip included), scaled to ${CONNS} checks a second. ` +
        (perSpawn === undefined
          ? 'Baseline missing: no ping binary.'
          : `Baseline: the old spawn per check (nsenter ping) at ${r3(perSpawn)} ms CPU per check (${args['baseline-checks']} sampled), scaled to the same rate.`),
    },
  ];
  process.stdout.write(JSON.stringify({ results }, null, 2) + '\n');
}

await main();
process.exit(0);
