// Bench `vm.boot-to-ping.seconds`: from `nsm up examples/vm.yaml` (a VM client on node-1, VXLAN to an
// icmp-responder on node-2) to the guest's first echo reply, against the same VM (kernel, initramfs,
// qemu flags) booted on a plain tap with the host end addressed (no mesh), interleaved in the same run.
// Prints { results: [...] } as JSON. Usage: node --import tsx bench/vm-boot.ts [--runs N]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ensureVmImage } from '../src/platforms/vm/image.js';
import { guestCmdline, PING_REPLY } from '../src/platforms/vm/guest-config.js';
import { qemuArgs, qemuBin, sweepQemus, vmTagPrefix } from '../src/platforms/vm/qemu.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '2' } } });
const RUNS = Number(values.runs);
const ROOT = new URL('..', import.meta.url).pathname;
const log = (m: string) => process.stderr.write(`[vm-boot] ${m}\n`);
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The same guest on a tap whose host end holds 169.254.201.1; seconds from qemu's spawn to the first reply. */
async function plainTap(i: number): Promise<number> {
  const ns = `vmb${process.pid}-${i}`;
  const tag = `nsm-ts:bench${process.pid}:plain-${i}`;
  const image = await ensureVmImage();
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const sh = (cmd: string) => execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd]);
    sh('ip tuntap add dev vm0 mode tap && ip link set vm0 up && ip addr add 169.254.201.1/32 dev vm0 && ip route add 169.254.201.2/32 dev vm0');
    const cmdline = guestCmdline({ addrs: ['169.254.201.2/32'], routes: [{ prefix: '169.254.201.1/32' }], mtu: 1500, ping: '169.254.201.1' });
    const t0 = Date.now();
    const q = spawn('ip', ['netns', 'exec', ns, qemuBin(), ...qemuArgs({ image, cmdline, tag, tap: 'vm0', mac: '02:00:00:00:00:02' })], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('plain VM: no echo reply after 600 s')), 600_000);
        createInterface({ input: q.stdout }).on('line', (l) => {
          if (PING_REPLY.test(l)) {
            clearTimeout(timer);
            resolve((Date.now() - t0) / 1000);
          }
        });
        q.once('exit', (code) => reject(new Error(`plain VM: qemu exited ${code}`)));
      });
    } finally {
      q.kill('SIGKILL');
      await sweepQemus(tag);
    }
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** `nsm up` of examples/vm.yaml to the first reply in the guest's console; then `nsm down`. */
function mesh(i: number): number {
  const name = `vmb${process.pid % 10000}${i}`;
  const t0 = Date.now();
  try {
    const up = spawnSync(process.execPath, ['bin/nsm.js', 'up', 'examples/vm.yaml', '--detach', '--name', name], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    if (up.status !== 0) throw new Error(`nsm up failed: ${up.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const consoleText = readFileSync(`/run/nsm/${name}/logs/vm-1-vm.console`, 'utf8');
    const first = consoleText.split('\n').find((l) => PING_REPLY.test(l));
    if (!first) throw new Error('no echo reply in the guest console');
    return (Date.parse(first.slice(0, first.indexOf(' '))) - t0) / 1000;
  } finally {
    spawnSync(process.execPath, ['bin/nsm.js', 'down', name], { cwd: ROOT, timeout: 120_000 });
    void sweepQemus(vmTagPrefix(name));
  }
}

async function main(): Promise<void> {
  await ensureVmImage();
  const ours: number[] = [];
  const base: number[] = [];
  const loads: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    loads.push(loadavg()[0]!);
    base.push(await plainTap(i));
    log(`run ${i + 1}: plain tap ${base.at(-1)} s`);
    ours.push(mesh(i));
    log(`run ${i + 1}: nsm up ${ours.at(-1)} s`);
  }
  const value = median(ours);
  const baseline = median(base);
  const results = [{
    name: 'vm.boot-to-ping.seconds', value, unit: 's', baseline, baselineLabel: 'same VM on a plain tap (no mesh)', ratio: Math.round((value / baseline) * 1000) / 1000,
    note: `qemu TCG (no KVM), 1 vCPU; median of ${RUNS} interleaved runs (mesh ${ours.join(', ')} s; plain ${base.join(', ')} s); nsm up includes starting the mesh; load average ${loads.map((l) => l.toFixed(1)).join(', ')}`,
  }];
  process.stdout.write(`${JSON.stringify({ runs: RUNS, results }, null, 2)}\n`);
}

await main();
process.exit(0);
