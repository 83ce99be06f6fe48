// One endpoint VM's life, run by `nsm vm-endpoint` inside the endpoint's namespace: bridge and tap,
// qemu booted with a control channel (ttyS1), then, on every link/address/route change in the namespace
// (`ip monitor`) and every few seconds, each connection interface the forwarder put there becomes an
// isolated bridge port, its addresses and routes are given to the guest (the namespace keeps them, inert
// behind the bridge), and those of closed connections leave it. Exits when qemu does (the supervisor restarts it).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { guestCmdline } from './guest-config.js';
import { GuestControl } from './guest-control.js';
import { applyOp, desiredGuest, emptyGuest, guestOps, type GuestState, type LinkConfig } from './guest-sync.js';
import { ensureVmImage } from './image.js';
import { connectionLinks, enslave, ensureBridge, routesByDev, setMtu } from './endpoint-nic.js';
import { qemuArgs } from './qemu.js';
import { killLeftover, relayConsole, spawnQemu, stopQemu } from './runner.js';

export interface VmEndpointOptions {
  /** The VM's tag (qemu -name). */
  tag: string;
  bridge: string;
  tap: string;
  /** Saved connection configs, qemu pidfile and the control socket go here. */
  stateDir: string;
  /** Serial console, one `<ISO time> <line>` per line. */
  consoleFile: string;
  memMb?: number;
  log: Logger;
  /** Called once the guest serves commands (ms since start): the endpoint may register now. */
  onReady?: (ms: number) => void;
  signal: AbortSignal;
}

/** A locally administered MAC derived from the tag (stable across lives, so neighbours stay valid). */
export function guestMac(tag: string): string {
  const h = createHash('sha256').update(tag).digest();
  return ['52', '54', '00', ...[h[0]!, h[1]!, h[2]!].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** Runs the VM until qemu exits (resolves with its exit code) or the signal aborts (kills qemu, resolves 0). */
export async function runVmEndpoint(o: VmEndpointOptions): Promise<number> {
  const t0 = Date.now();
  await mkdir(o.stateDir, { recursive: true });
  await killLeftover(o.tag, o.log);
  const image = await ensureVmImage();
  await ensureBridge(o.bridge, o.tap, 1500);
  const ctlSocket = `${o.stateDir}/ctl.sock`;
  const pidfile = `${o.stateDir}/qemu.pid`;
  await rm(ctlSocket, { force: true });
  await rm(pidfile, { force: true });
  const mac = guestMac(o.tag);
  const cmdline = guestCmdline({ addrs: [], routes: [], ctl: true });
  o.log.info({ bridge: o.bridge, tap: o.tap, mac }, 'bridge ready; booting the endpoint guest');
  const { qemu, exited } = spawnQemu(qemuArgs({ image, cmdline, tag: o.tag, tap: o.tap, mac, pidfile, ctlSocket, ...(o.memMb ? { memMb: o.memMb } : {}) }), o.log);
  relayConsole(qemu, o, t0);
  const life = new AbortController();
  const onAbort = () => {
    life.abort();
    stopQemu(qemu);
  };
  o.signal.addEventListener('abort', onAbort, { once: true });
  void exited.then(() => life.abort());
  const ctl = new GuestControl(ctlSocket);
  const sync = new Sync(o, ctl);
  let monitor: ChildProcess | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await ctl.hello(life.signal);
    o.log.info({ ms: Date.now() - t0 }, 'the guest serves commands');
    await sync.load();
    await sync.run();
    o.onReady?.(Date.now() - t0);
    monitor = spawn('ip', ['-o', 'monitor', 'link', 'address', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    monitor.stdout!.on('data', () => sync.soon());
    timer = setInterval(() => sync.soon(), 3000);
  } catch (err) {
    if (!life.signal.aborted) {
      o.log.error({ err: String(err) }, 'endpoint VM setup failed');
      stopQemu(qemu);
    }
  }
  const code = await exited;
  if (timer) clearInterval(timer);
  monitor?.kill();
  ctl.close();
  o.signal.removeEventListener('abort', onAbort);
  if (o.signal.aborted) return 0;
  o.log.warn({ code }, 'qemu exited');
  return code === 0 ? 1 : code;
}

/** Keeps the guest and the bridge in step with the namespace's connection interfaces; one pass at a time. */
class Sync {
  private configs = new Map<string, LinkConfig>();
  private guest: GuestState = emptyGuest();
  private tapMtu = 1500;
  private readonly told = new Map<string, string>();
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly o: VmEndpointOptions, private readonly ctl: GuestControl) {}

  private get file() {
    return `${this.o.stateDir}/links.json`;
  }

  /** Configs saved by an earlier life (its connections' interfaces no longer hold their addresses). */
  async load(): Promise<void> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    if (text) this.configs = new Map(Object.entries(JSON.parse(text) as Record<string, LinkConfig>));
  }

  soon(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run()
      .catch((err: unknown) => this.o.log.warn({ err: String(err) }, 'syncing the guest failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.soon();
        }
      });
  }

  /**
   * One pass: enslave new interfaces, give their addresses and routes to the guest, drop closed connections.
   * The namespace keeps the addresses: a bridge port's frames never reach its own IP stack, and flushing
   * them would race the forwarder's route additions (the kernel drops IPv4 routes with the last address).
   */
  async run(): Promise<void> {
    const [links, routes] = await Promise.all([connectionLinks(), routesByDev()]);
    const next = new Map<string, LinkConfig>();
    for (const l of links) {
      const old = this.configs.get(l.ifname)?.connId === l.connId ? this.configs.get(l.ifname) : undefined;
      const addrs = l.addrs.length > 0 ? l.addrs : (old?.addrs ?? []);
      // The kernel drops an interface's IPv4 routes with its last IPv4 address: keep the routes seen before.
      const seen = routes.get(l.ifname) ?? [];
      const kept = (old?.routes ?? []).filter((r) => !seen.some((s) => s.prefix === r.prefix));
      const cfg: LinkConfig = { connId: l.connId, addrs, routes: [...kept, ...seen], mtu: l.mtu };
      next.set(l.ifname, cfg);
      if (l.master !== this.o.bridge) {
        await enslave(l.ifname, this.o.bridge);
        this.o.log.info({ connId: l.connId, ifname: l.ifname }, 'connection interface joined the bridge');
      }
    }
    for (const [ifname, c] of this.configs) if (!next.has(ifname)) this.o.log.info({ connId: c.connId, ifname, addrs: c.addrs }, 'connection interface gone; removing its addresses from the guest');
    this.configs = next;
    const want = desiredGuest([...next.values()]);
    if (want.mtu !== undefined && want.mtu > this.tapMtu) {
      await setMtu(this.o.tap, want.mtu);
      this.tapMtu = want.mtu;
    }
    for (const op of guestOps(this.guest, want)) {
      try {
        await this.ctl.run(op);
        this.guest = applyOp(this.guest, op, want);
      } catch (err) {
        // A removal that fails (already gone with its address) counts as done; an addition is retried next pass.
        if (op.op === 'route-del' || op.op === 'addr-del') this.guest = applyOp(this.guest, op, want);
        this.o.log.warn({ op, err: String(err) }, 'guest command failed');
      }
    }
    await writeFile(this.file, JSON.stringify(Object.fromEntries(next)));
    for (const [ifname, c] of next) {
      if (c.addrs.length === 0 || this.told.get(ifname) === JSON.stringify(c)) continue;
      this.told.set(ifname, JSON.stringify(c));
      this.o.log.info({ connId: c.connId, ifname, addrs: c.addrs, routes: c.routes }, 'connection addresses and routes are in the guest');
    }
    for (const ifname of this.told.keys()) if (!next.has(ifname)) this.told.delete(ifname);
  }
}
