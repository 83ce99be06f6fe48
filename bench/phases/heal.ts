// Bench phase `heal`: kill to restored ping. The forwarder is SIGKILLed and restarted; the endpoint in use is
// killed (and the client's interface deleted); the interface alone is deleted (liveness-only detection).
import type { Connection } from '../../src/api/index.js';
import { closeAllChannels } from '../../src/api/index.js';
import { MeshClient } from '../../src/components/client.js';
import { freePort, type Mesh } from '../../test/e2e/helpers/mesh.js';
import { add, delNetns, execFileP, ip, ipOf, log, median, netns, newMesh, stopMesh, wanted, type Phase } from '../lib/harness.js';

interface PingSample {
  sent: number;
  done: number;
  ok: boolean;
}

/** Pings `dst()` from `ns` (one `ping -c1 -W0.2` every 50 ms) until stopped; every sample kept (wall-clock ms). */
function pingLoop(ns: string, dst: () => string): { samples: PingSample[]; stop: () => Promise<void> } {
  const samples: PingSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const sent = Date.now();
      const ok = await execFileP('nsenter', [`--net=/var/run/netns/${ns}`, 'ping', '-c1', '-n', '-q', '-W', '0.2', dst()], { timeout: 2000 }).then(
        () => true,
        () => false,
      );
      samples.push({ sent, done: Date.now(), ok });
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - sent))));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Outage after `t0`: first reply after the last lost one (undefined: none lost); also the largest gap between replies. */
function outage(samples: PingSample[], t0: number): { restoredMs?: number; lost: number; maxGapMs: number } {
  const after = samples.filter((s) => s.sent >= t0);
  const lastLost = after.map((s) => !s.ok).lastIndexOf(true);
  const oks = samples.filter((s) => s.ok && s.done >= t0 - 1000).map((s) => s.done);
  const maxGapMs = Math.max(0, ...oks.slice(1).map((d, i) => d - oks[i]!));
  if (lastLost < 0) return { lost: 0, maxGapMs };
  const restored = after.slice(lastLost + 1).find((s) => s.ok);
  return { ...(restored ? { restoredMs: restored.done - t0 } : {}), lost: after.filter((s) => !s.ok).length, maxGapMs };
}

const HEAL_RUNS = 3;

async function healPhase(): Promise<void> {
  const wantFwd = wanted('heal.forwarder.ms', 'heal.forwarder.control-plane.ms');
  const wantEp = wanted('heal.endpoint.ms');
  if (!wantFwd && !wantEp && !wanted('heal.endpoint.liveness-only.ms')) return;
  log('heal: registry, nsmgr, forwarder and two endpoints as separate processes; a client (liveness 1 s, as nsm nsc) pinging its dst');
  const mesh = newMesh();
  const [nsA, nsB, cns] = [await netns('ha'), await netns('hb'), await netns('hc')];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
    const nsmgrUrl = mesh.sock('nsmgr');
    const fwdOpts = { name: 'fwd-1', listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1' };
    const nseOpts = {
      'nse-a': { name: 'nse-a', nsmgr: nsmgrUrl, workloadNetns: nsA, cidr: '169.254.64.0/20' },
      'nse-b': { name: 'nse-b', nsmgr: nsmgrUrl, workloadNetns: nsB, cidr: '169.254.80.0/20' },
    } as const;
    await mesh.registry({ listen: registryUrl });
    await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: registryUrl });
    let fwd = await mesh.forwarder(fwdOpts);
    const nses: Record<string, Awaited<ReturnType<Mesh['nse']>>> = {};
    for (const o of Object.values(nseOpts)) nses[o.name] = await mesh.nse(o);

    let conn: Connection | undefined;
    let upAt = 0;
    const client = await MeshClient.create({
      name: 'bench-heal-nsc',
      nsmgrUrl,
      livenessIntervalMs: 1000,
      onState: (_id, state, c) => {
        if (state === 'UP' && c) {
          conn = c;
          upAt = Date.now();
        }
      },
    });
    conn = await client.request({ service: 'icmp-responder', ifname: 'nsm-h', netnsUrl: `file:///var/run/netns/${cns}` });
    const dst = () => ipOf(conn!.context!.ipContext!.dstIpAddrs[0]!);
    const pings = pingLoop(cns, dst);
    const waitUp = async (since: number, ms: number) => {
      const end = Date.now() + ms;
      while (upAt < since && Date.now() < end) await sleep(20);
      return upAt >= since;
    };
    const waitPing = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (pings.samples.slice(-3).length === 3 && pings.samples.slice(-3).every((s) => s.ok)) return true;
        await sleep(50);
      }
      return false;
    };
    try {
      if (!(await waitPing(5000))) throw new Error('no ping through the connection before the kills');

      if (wantFwd) {
        const data: number[] = [];
        const control: number[] = [];
        const notes: string[] = [];
        for (let i = 0; i < HEAL_RUNS; i++) {
          log(`heal.forwarder: run ${i + 1}/${HEAL_RUNS}: SIGKILL fwd-1, restarted at once`);
          await sleep(1500);
          const t0 = Date.now();
          await fwd.kill();
          fwd = await mesh.forwarder(fwdOpts);
          if (!(await waitUp(t0, 15_000))) throw new Error(`forwarder run ${i + 1}: connection not UP again within 15 s`);
          control.push(upAt - t0);
          if (!(await waitPing(10_000))) throw new Error(`forwarder run ${i + 1}: ping not back within 10 s`);
          await sleep(500);
          const o = outage(pings.samples, t0);
          data.push(o.restoredMs ?? 0);
          notes.push(o.lost ? `${o.lost} lost, back after ${o.restoredMs} ms` : `0 lost (largest reply gap ${o.maxGapMs} ms)`);
        }
        const broke = data.some((d) => d > 0);
        add({
          name: 'heal.forwarder.ms',
          value: median(data),
          unit: 'ms',
          note: `kill to restored ping, median of ${HEAL_RUNS}; fwd-1 SIGKILLed and restarted at once (as a supervisor would); ${broke ? '' : 'the data path never broke (the kernel veth outlives the forwarder, which adopts it in place): 0 = no ping lost; '}runs: ${notes.join('; ')}`,
        });
        add({
          name: 'heal.forwarder.control-plane.ms',
          value: median(control),
          unit: 'ms',
          note: `kill to the client's connection UP again (refreshed through the restarted forwarder; includes its start-up), runs: ${control.join(', ')} ms`,
        });
      }

      if (wantEp) {
        const times: number[] = [];
        const notes: string[] = [];
        for (let i = 0; i < HEAL_RUNS; i++) {
          await sleep(1500);
          const victim = conn.networkServiceEndpointName;
          log(`heal.endpoint: run ${i + 1}/${HEAL_RUNS}: SIGKILL ${victim} and delete the client's interface`);
          const t0 = Date.now();
          await nses[victim]!.kill();
          await ip('-n', cns, 'link', 'del', 'nsm-h').catch(() => undefined);
          if (!(await waitUp(t0, 15_000))) throw new Error(`endpoint run ${i + 1}: connection not UP again within 15 s`);
          if (!(await waitPing(10_000))) throw new Error(`endpoint run ${i + 1}: ping not back within 10 s`);
          const o = outage(pings.samples, t0);
          if (o.restoredMs === undefined) throw new Error(`endpoint run ${i + 1}: no ping was lost, so the data path did not break`);
          times.push(o.restoredMs);
          notes.push(`${victim} -> ${conn.networkServiceEndpointName} ${o.restoredMs} ms (UP after ${upAt - t0} ms)`);
          // Bring the victim back so that the next run has two endpoints again.
          nses[victim] = await mesh.nse(nseOpts[victim as keyof typeof nseOpts]);
        }
        add({
          name: 'heal.endpoint.ms',
          value: median(times),
          unit: 'ms',
          note: `SIGKILL of the endpoint in use + deletion of the client's interface, to the first ping reply from the other endpoint; median of ${HEAL_RUNS}. The endpoint's monitor stream breaks at once, the client heals, and its liveness ping (failing: the interface is gone) turns the heal into a reselection; runs: ${notes.join('; ')}`,
        });
      }

      if (wanted('heal.endpoint.liveness-only.ms')) {
        // The data path alone breaks (the endpoint lives on): only the periodic liveness check can notice.
        const times: number[] = [];
        const notes: string[] = [];
        for (let i = 0; i < HEAL_RUNS; i++) {
          await sleep(1500);
          const before = conn.networkServiceEndpointName;
          log(`heal.endpoint.liveness-only: run ${i + 1}/${HEAL_RUNS}: delete the client's interface (${before} stays up)`);
          const t0 = Date.now();
          await ip('-n', cns, 'link', 'del', 'nsm-h').catch(() => undefined);
          if (!(await waitUp(t0, 15_000))) throw new Error(`liveness-only run ${i + 1}: connection not UP again within 15 s`);
          if (!(await waitPing(10_000))) throw new Error(`liveness-only run ${i + 1}: ping not back within 10 s`);
          const o = outage(pings.samples, t0);
          if (o.restoredMs === undefined) throw new Error(`liveness-only run ${i + 1}: no ping was lost`);
          times.push(o.restoredMs);
          notes.push(`${before} -> ${conn.networkServiceEndpointName} ${o.restoredMs} ms`);
        }
        add({
          name: 'heal.endpoint.liveness-only.ms',
          value: median(times),
          unit: 'ms',
          note: `the client's interface deleted while its endpoint stays up (no control-plane event): the periodic liveness check (every 1 s, 2 failures, as nsm nsc by default) reselects; median of ${HEAL_RUNS}; runs: ${notes.join('; ')}`,
        });
      }
    } finally {
      await pings.stop();
      await client.close(conn).catch(() => undefined);
    }
  } finally {
    closeAllChannels();
    await stopMesh(mesh);
    await delNetns(nsA, nsB, cns);
  }
}

export const heal: Phase = { name: 'heal', run: healPhase };
