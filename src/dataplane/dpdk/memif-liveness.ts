// The data-path check of a DPDK client's MEMIF connections (the sdk's LivenessCheck): the client's own
// memif application (testpmd flowgen) sends all the time and counts what comes back, so a check reads
// its latest once-a-second statistics (the end of its log; no process spawned). Packets sent but none
// received since the previous sample means the path is broken (the endpoint's application died); no
// packet sent for a while means the memif link is down (the forwarder's cross-connect died): the check
// suits applications that send all the time. Connections of other mechanisms go to a fallback check.
import type { Connection } from '../../api/index.js';
import type { LivenessCheck, LivenessVerdict } from '../../sdk/tools/liveness.js';
import { isMemif, memifSocketOf } from '../../sdk/tools/mechanisms.js';
import { isRunning, latestStats, type DpdkInstance } from './supervisor.js';
import type { PortStats } from './testpmd.js';

export interface MemifLivenessOptions {
  /** The running application that serves this memif socket file (undefined: none, or stopped on purpose). */
  appOf(socketfile: string): DpdkInstance | undefined;
  /** The check of every other connection (e.g. the ICMP echo of src/dataplane/echo-liveness.ts). */
  fallback?: LivenessCheck;
  /** Packets sent between two samples below which the counters count as standing still; default 32. */
  minSent?: number;
  /** How long the sent counter may stand still before the link counts as down (default 3 s; statistics come once a second). */
  stillMs?: number;
  now?: () => number;
  /** Reads an application's port statistics (default: the end of its testpmd log). */
  statsOf?: (inst: DpdkInstance) => PortStats | undefined;
  /** Whether the application still runs (default: its process is alive). */
  running?: (inst: DpdkInstance) => boolean;
}

interface Sample {
  /** The connection (a new one after each refresh or heal starts a new series). */
  conn: Connection;
  rx: number;
  tx: number;
  /** When tx last moved (or the series started). */
  at: number;
  verdict: 'alive' | 'dead';
}

export function memifLiveness(opts: MemifLivenessOptions): LivenessCheck {
  const minSent = opts.minSent ?? 32;
  const stillMs = opts.stillMs ?? 3000;
  const now = opts.now ?? Date.now;
  const statsOf = opts.statsOf ?? ((inst: DpdkInstance) => latestStats(inst)[0]);
  const running = opts.running ?? isRunning;
  /** Per connection: the last sample that differed from the one before (a check may see no new one). */
  const last = new Map<string, Sample>();

  const judge = (conn: Connection): LivenessVerdict => {
    const socket = memifSocketOf(conn.mechanism!);
    const app = socket ? opts.appOf(socket) : undefined;
    if (!app || !running(app)) return { cannotCheck: `no running memif application serves ${socket ?? '(no socketfile)'}` };
    const port = statsOf(app);
    const prev = last.get(conn.id);
    const t = now();
    if (!prev || prev.conn !== conn) {
      last.set(conn.id, { conn, rx: port?.rxPackets ?? 0, tx: port?.txPackets ?? 0, at: t, verdict: 'alive' });
      return 'alive';
    }
    // Nothing sent since the previous sample: no new statistics yet (printed once a second), or the link is down.
    if (!port || port.txPackets - prev.tx < minSent) return t - prev.at > stillMs ? 'dead' : prev.verdict;
    const verdict = port.rxPackets > prev.rx ? 'alive' : 'dead';
    last.set(conn.id, { conn, rx: port.rxPackets, tx: port.txPackets, at: t, verdict });
    return verdict;
  };

  return {
    check(conn: Connection): Promise<LivenessVerdict> {
      if (!isMemif(conn.mechanism)) return opts.fallback ? opts.fallback.check(conn) : Promise.resolve({ cannotCheck: 'not a MEMIF connection' });
      return Promise.resolve(judge(conn));
    },
    release(connId: string) {
      last.delete(connId);
      opts.fallback?.release?.(connId);
    },
  };
}
