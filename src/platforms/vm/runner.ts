// One VM workload's life, run by `nsm vm` inside the workload namespace: waits for the connection's
// interface, hands its addresses and routes to the guest (saved, so a restart finds them after the
// namespace lost them), joins it to a tap, boots qemu and relays the serial console (timestamped) to a
// file. Keeps the join in place (a recreated interface, re-added addresses) and exits when qemu does,
// so the mesh supervisor restarts the whole VM.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { guestCmdline, PING_REPLY, type GuestConfig } from './guest-config.js';
import { ensureVmImage } from './image.js';
import { ensureTap, flushAddrs, joinToTap, linkAddrs, linkFacts, linkRoutes, redirects, type LinkFacts } from './nic.js';
import { qemuArgs, qemuBin, taggedQemus } from './qemu.js';

export interface VmRunOptions {
  /** Workload name and mesh (the VM's tag). */
  tag: string;
  /** The connection's interface in this namespace. */
  ifname: string;
  tap: string;
  /** The client's connection lines (nsm nsc stdout), for the far end the guest pings. */
  connectionFile: string;
  /** Saved guest config and qemu pidfile go here. */
  stateDir: string;
  /** Serial console, one `<ISO time> <line>` per line. */
  consoleFile: string;
  memMb?: number;
  log: Logger;
  /** Called once per life with the first echo reply the guest saw (ms since start). */
  onFirstReply?: (ms: number, line: string) => void;
  signal: AbortSignal;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The connection's far end (first dstIp, no prefix) from the client's lines, once it printed one for `ifname`. */
async function farEnd(file: string, ifname: string): Promise<string | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  let dst: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const l = JSON.parse(line) as { interface?: string; dstIp?: string };
      if (l.interface === ifname && l.dstIp) dst = l.dstIp.split('/')[0];
    } catch {
      // partial line
    }
  }
  return dst;
}

/** Kills a qemu left by an earlier life of this VM (same tag), e.g. after `nsm vm` was SIGKILLed. */
export async function killLeftover(tag: string, log: Logger): Promise<void> {
  for (const q of (await taggedQemus(tag)).filter((x) => x.tag === tag)) {
    log.warn({ pid: q.pid, tag }, 'killing a qemu left by an earlier life');
    try {
      process.kill(q.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** The guest's addresses and routes: from the interface when it has addresses (then saved), else as saved. */
async function guestConfig(o: VmRunOptions, ping: string, mtu: number): Promise<GuestConfig> {
  const saved = `${o.stateDir}/guest.json`;
  const addrs = await linkAddrs(o.ifname);
  if (addrs.length > 0) {
    const cfg: GuestConfig = { addrs, routes: await linkRoutes(o.ifname), mtu, ping };
    await writeFile(saved, JSON.stringify(cfg));
    return cfg;
  }
  const old = await readFile(saved, 'utf8').catch(() => '');
  if (!old) throw new Error(`${o.ifname} has no addresses and no saved guest config`);
  return { ...(JSON.parse(old) as GuestConfig), mtu, ping };
}

async function waitConnection(o: VmRunOptions): Promise<{ link: LinkFacts; ping: string }> {
  for (;;) {
    o.signal.throwIfAborted();
    const ping = await farEnd(o.connectionFile, o.ifname);
    const link = ping ? await linkFacts(o.ifname) : undefined;
    if (ping && link) return { link, ping };
    await sleep(200);
  }
}

/** Runs the VM until qemu exits (resolves with its exit code) or the signal aborts (kills qemu, resolves 0). */
export async function runVm(o: VmRunOptions): Promise<number> {
  const t0 = Date.now();
  await mkdir(o.stateDir, { recursive: true });
  await killLeftover(o.tag, o.log);
  const image = await ensureVmImage();
  const { link, ping } = await waitConnection(o);
  const cfg = await guestConfig(o, ping, link.mtu);
  await ensureTap(o.tap, link.mtu);
  await joinToTap(o.ifname, o.tap);
  await flushAddrs(o.ifname);
  const cmdline = guestCmdline(cfg);
  o.log.info({ ifname: o.ifname, tap: o.tap, mac: link.mac, guest: cfg, setupMs: Date.now() - t0 }, 'NIC joined to the tap; booting the guest');
  const pidfile = `${o.stateDir}/qemu.pid`;
  await rm(pidfile, { force: true });
  const { qemu, exited } = spawnQemu(qemuArgs({ image, cmdline, tag: o.tag, tap: o.tap, mac: link.mac, pidfile, ...(o.memMb ? { memMb: o.memMb } : {}) }), o.log);
  relayConsole(qemu, o, t0);
  const keeper = keepJoined(o, link, cfg, () => stopQemu(qemu));
  const onAbort = () => stopQemu(qemu);
  o.signal.addEventListener('abort', onAbort, { once: true });
  const code = await exited;
  keeper.stop();
  o.signal.removeEventListener('abort', onAbort);
  if (o.signal.aborted) return 0;
  o.log.warn({ code }, 'qemu exited');
  return code === 0 ? 1 : code;
}

/** Starts qemu with `args`; `exited` resolves with its exit code (128 when killed by a signal, 127 when it did not start). */
export function spawnQemu(args: string[], log: Logger): { qemu: ChildProcess; exited: Promise<number> } {
  const qemu = spawn(qemuBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number>((resolve) => {
    qemu.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
    qemu.once('error', (err) => {
      log.error({ err: String(err) }, 'qemu did not start');
      resolve(127);
    });
  });
  return { qemu, exited };
}

export function relayConsole(qemu: ChildProcess, o: Pick<VmRunOptions, 'consoleFile' | 'onFirstReply'>, t0: number): void {
  const out = createWriteStream(o.consoleFile, { flags: 'a', mode: 0o640 });
  let replied = false;
  const onLine = (line: string) => {
    out.write(`${new Date().toISOString()} ${line}\n`);
    if (!replied && PING_REPLY.test(line)) {
      replied = true;
      o.onFirstReply?.(Date.now() - t0, line);
    }
  };
  createInterface({ input: qemu.stdout! }).on('line', onLine);
  createInterface({ input: qemu.stderr! }).on('line', (l) => onLine(`qemu: ${l}`));
  qemu.once('exit', () => out.end());
}

export function stopQemu(qemu: ChildProcess): void {
  qemu.kill('SIGTERM');
  const t = setTimeout(() => qemu.kill('SIGKILL'), 2000);
  t.unref();
}

/**
 * Every second: a recreated interface gets its redirect again; addresses the forwarder put back
 * (a refresh or heal re-applies them) are removed again, and if they differ from the guest's, qemu is
 * stopped so the next life boots with the new ones.
 */
function keepJoined(o: VmRunOptions, first: LinkFacts, cfg: GuestConfig, restart: () => void): { stop: () => void } {
  let ifindex = first.ifindex;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      const link = await linkFacts(o.ifname);
      if (!link) return;
      if (link.ifindex !== ifindex || !(await redirects(o.ifname, o.tap))) {
        o.log.warn({ ifname: o.ifname, ifindex: link.ifindex }, 'connection interface changed; joining it to the tap again');
        await joinToTap(o.ifname, o.tap);
        ifindex = link.ifindex;
      }
      const addrs = await linkAddrs(o.ifname);
      if (addrs.length === 0) return;
      const routes = await linkRoutes(o.ifname);
      await flushAddrs(o.ifname);
      if ([...addrs].sort().join() !== [...cfg.addrs].sort().join()) {
        o.log.warn({ old: cfg.addrs, new: addrs }, "the connection's addresses changed; restarting the guest");
        await writeFile(`${o.stateDir}/guest.json`, JSON.stringify({ ...cfg, addrs, routes }));
        restart();
      }
    })()
      .catch((err: unknown) => o.log.warn({ err: String(err) }, 'keeping the NIC joined failed'))
      .finally(() => {
        busy = false;
      });
  }, 1000);
  return { stop: () => clearInterval(timer) };
}
