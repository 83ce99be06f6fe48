// Bench phase `heal-storm`: a forwarder (its own process) with 1,000 connections through it is SIGKILLed and
// restarted at once; heal.storm.seconds is the time from the kill until every connection is UP again at its
// client, with the CPU the mesh processes spent meanwhile and the restarted forwarder's RSS.
import { closeMany, connectMany } from '../lib/connect-many.js';
import { cpuSeconds } from '../lib/proc-stats.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeAllChannels } from '../../src/api/index.js';
import { MeshClient } from '../../src/components/client.js';
import { createLogger } from '../../src/sdk/core/log.js';
import { freePort } from '../../test/e2e/helpers/mesh.js';
import { add, delNetns, log, missing, netns, newMesh, QUICK, rssKiB, stopMesh, wanted, type Phase } from '../lib/harness.js';

/** How long the phase waits for every connection to be UP again after the kill (BENCH_STORM_WAIT_S, default 120 s). */
const WAIT_MS = Number(process.env.BENCH_STORM_WAIT_S ?? 120) * 1000;
/** BENCH_STORM_LOGS=DIR: write every mesh process's log there (the clients log to the bench's stderr). */
const LOG_DIR = process.env.BENCH_STORM_LOGS;

async function healStormPhase(): Promise<void> {
  if (!wanted('heal.storm.seconds')) return;
  const N = QUICK ? 300 : 1000;
  const NS = 10;
  const CONC = 16;
  log(`heal-storm: registry, nsmgr, forwarder (own process) and one nse; ${N} connections over ${NS} client namespaces; SIGKILL the forwarder and restart it`);
  const mesh = newMesh();
  const nseNs = await netns('sn');
  const cns: string[] = [];
  const clients: MeshClient[] = [];
  try {
    for (let k = 0; k < NS; k++) cns.push(await netns(`s${k}`));
    const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
    const nsmgrUrl = mesh.sock('nsmgr');
    const fwdOpts = { name: 'fwd-storm', listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1' };
    // Spawned as the mesh helper does, with longer waits: on a loaded machine a process may take 15 s to start.
    const start = async (name: string, args: string[], ready: RegExp) => {
      const p = mesh.spawn(name, args);
      await p.waitLine(ready, 120_000);
      return p;
    };
    const fwdArgs = ['forwarder', '--name', fwdOpts.name, '--listen', fwdOpts.listen, '--nsmgr', nsmgrUrl, '--underlay-ip', fwdOpts.underlayIp];
    const reg = await start('registry', ['registry', '--listen', registryUrl], /^registry listening on /);
    const nsmgr = await start('nsmgr-storm', ['nsmgr', '--name', 'nsmgr-storm', '--listen', nsmgrUrl, '--registry', registryUrl], /^nsmgr .* listening on /);
    let fwd = await start(fwdOpts.name, fwdArgs, /^forwarder .* listening on /);
    const nse = await start('nse-storm', ['nse', 'icmp-responder', '--name', 'nse-storm', '--nsmgr', nsmgrUrl, '--netns', nseNs, '--listen', mesh.sock('nse-storm'), '--cidr', '169.254.0.0/16'], /^nse .* serving /);
    const upAt = new Map<string, number>();
    // Connections UP again since the kill, counted as they come (a scan of every id each poll cost the bench's own CPU).
    let kill = Infinity;
    const upAgain = new Set<string>();
    const onState = (id: string, state: string) => {
      if (state !== 'UP') return;
      const now = Date.now();
      upAt.set(id, now);
      if (now >= kill) upAgain.add(id);
    };
    for (let k = 0; k < NS; k++) {
      clients.push(await MeshClient.create({ name: `bench-storm-${k}`, nsmgrUrl, ...(LOG_DIR ? { log: createLogger(`bench-storm-${k}`, 'info') } : {}), onState }));
    }
    const { conns, made, failed, firstErr, seconds: setupSeconds } = await connectMany(clients, cns, N, CONC, 120_000);
    log(`heal-storm: ${conns.length} connections in ${setupSeconds.toFixed(1)} s (${failed} failed)`);
    if (failed > 0) {
      missing('heal.storm.seconds', `${failed} of ${N} requests failed before the kill (first: ${String(firstErr).slice(0, 200)})`);
      return;
    }
    await new Promise((r) => setTimeout(r, 2000));
    const rssBefore = rssKiB(fwd.pid);
    const others = [reg, nsmgr, nse];
    const cpu0 = others.map((p) => cpuSeconds(p.pid));
    const self0 = process.cpuUsage();
    kill = Date.now();
    const killMono = process.hrtime.bigint() / 1000n;
    log('heal-storm: SIGKILL the forwarder, restart it at once');
    // Peak RSS of every mesh process (and the bench's own) during the storm, sampled every 200 ms.
    const peak = new Map<string, number>();
    const sample = () => {
      for (const [name, pid] of [['registry', reg.pid], ['nsmgr', nsmgr.pid], ['forwarder', fwd.pid], ['nse', nse.pid], ['clients', process.pid]] as const) {
        peak.set(name, Math.max(peak.get(name) ?? 0, rssKiB(pid) || 0));
      }
    };
    const sampler = setInterval(sample, 200);
    await fwd.kill();
    // The restart competes with 1,000 heals for the CPU.
    fwd = await start(fwdOpts.name, fwdArgs, /^forwarder .* listening on /);
    const listening = Date.now();
    log(`heal-storm: forwarder listening again ${((listening - kill) / 1000).toFixed(1)} s after the kill`);
    const ids = conns.map((c) => c.id);
    const deadline = kill + WAIT_MS;
    let waiting = ids.length;
    let lastReport = Date.now();
    while (Date.now() < deadline) {
      // Every connection of these clients is one of `ids`.
      waiting = ids.length - upAgain.size;
      if (waiting === 0) break;
      if (Date.now() - lastReport > 5000) {
        log(`heal-storm: ${waiting} of ${ids.length} not UP again after ${((Date.now() - kill) / 1000).toFixed(1)} s`);
        lastReport = Date.now();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    clearInterval(sampler);
    sample();
    const healed = Math.max(...ids.map((id) => upAt.get(id) ?? 0));
    const seconds = (healed - kill) / 1000;
    // Monotonic microseconds (the clock of --cpu-prof profiles): the storm's window, to cut profiles to it.
    log(`heal-storm: storm window (monotonic us) ${killMono} ${killMono + BigInt(Math.round((healed - kill) * 1000))}`);
    const cpu = others.map((p, j) => cpuSeconds(p.pid) - cpu0[j]!);
    const fwdCpu = cpuSeconds(fwd.pid);
    const selfCpu = process.cpuUsage(self0);
    const clientCpu = (selfCpu.user + selfCpu.system) / 1e6;
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const mib = (k: string) => `${((peak.get(k) ?? 0) / 1024).toFixed(0)}`;
    const cpuNote = `restarted forwarder listening after ${((listening - kill) / 1000).toFixed(1)} s; CPU seconds from the kill to the last heal: forwarder ${fwdCpu.toFixed(1)} (restarted process), nsmgr ${cpu[1]!.toFixed(1)}, registry ${cpu[0]!.toFixed(1)}, nse ${cpu[2]!.toFixed(1)}, clients (bench process) ${clientCpu.toFixed(1)}; peak RSS MiB: forwarder ${mib('forwarder')} (${(rssBefore / 1024).toFixed(0)} before the kill), nsmgr ${mib('nsmgr')}, registry ${mib('registry')}, nse ${mib('nse')}, clients ${mib('clients')}; load average ${load}`;
    log(`heal-storm: ${cpuNote}`);
    if (waiting > 0) {
      missing('heal.storm.seconds', `${waiting} of ${ids.length} connections not UP again within ${(WAIT_MS / 1000).toFixed(0)} s (${ids.length - waiting} were); ${cpuNote}`);
    } else {
      add({ name: 'heal.storm.seconds', value: seconds, unit: 's', note: `${ids.length} connections (${NS} client namespaces) through one forwarder process, SIGKILLed and restarted at once: kill to the last connection UP again at its client; ${cpuNote}` });
    }
    log(`heal-storm: closing ${conns.length}`);
    await closeMany(made, CONC);
  } finally {
    if (LOG_DIR) {
      mkdirSync(LOG_DIR, { recursive: true });
      for (const p of mesh.procs) writeFileSync(join(LOG_DIR, `${p.name}-${p.pid}.log`), p.stderr);
    }
    for (const c of clients) await c.shutdown().catch(() => undefined);
    closeAllChannels();
    await stopMesh(mesh);
    await delNetns(nseNs, ...cns);
  }
}

export const healStorm: Phase = { name: 'heal-storm', run: healStormPhase };
