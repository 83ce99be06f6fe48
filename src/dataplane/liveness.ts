// liveness (client side, run by heal): is traffic flowing through a connection? One ping of the
// connection's dst address from the client's namespace (`nsenter --net=NS ping -c1`).
// Cost: one short-lived process per check (about 2-4 ms of CPU); at the default of
// one check a second that is fine for a handful of connections per client.
import { execFile } from 'node:child_process';
import type { Connection } from '../api/index.js';
import { netnsPath, parseNetns } from './netns.js';
import type { LivenessCheck } from '../sdk/tools/liveness.js';
import { P } from '../sdk/tools/mechanisms.js';

/** The namespace file of the client's side of `conn`, if its mechanism names one we can enter. */
export function clientNetnsPath(conn: Connection): string | undefined {
  const url = conn.mechanism?.parameters[P.inodeURL];
  if (!url) return undefined;
  try {
    const ref = parseNetns(url);
    return ref.kind === 'inode' ? undefined : netnsPath(ref);
  } catch {
    return undefined;
  }
}

/** Pings the connection's first dst address, waiting at most `waitMs` for the reply. */
export function pingCheck(opts: { waitMs?: number } = {}): LivenessCheck {
  const wait = Math.max(0.2, (opts.waitMs ?? 1000) / 1000).toFixed(1);
  return (conn) => {
    const dst = conn.context?.ipContext?.dstIpAddrs[0]?.split('/')[0];
    const ns = clientNetnsPath(conn);
    if (!dst || !ns) return Promise.resolve(true);
    return new Promise((resolve) => {
      execFile('nsenter', [`--net=${ns}`, 'ping', '-c1', '-q', '-n', '-W', wait, dst], { timeout: 5000 }, (err) => resolve(!err));
    });
  };
}
