// The client's data-path check (the sdk's LivenessCheck): one in-process ICMP/ICMPv6 echo from the
// client's namespace to the connection's dst address through a shared IcmpProber. It keeps the
// prober's per-namespace sockets open while a connection of that namespace lives, and closes them
// when the last one is released.
import { livenessTarget, type LivenessCheck, type LivenessVerdict } from '../sdk/tools/liveness.js';
import type { Connection } from '../api/index.js';
import { IcmpProber, type EchoProber } from './icmp-prober.js';
import { InvalidArgumentError } from '../api/errors.js';
import { netnsPath, parseNetns, resolveNetnsId } from './netns.js';

export interface EchoLivenessOptions {
  prober?: EchoProber;
  /** How long to wait for the reply (default 1 s). */
  waitMs?: number;
}

export interface EchoLiveness extends LivenessCheck {
  /** Releases every connection and closes the prober's sockets. */
  close(): void;
}

/** The namespace file an inodeURL names (each URL parsed, inode:// ones looked up, once). */
async function nsFile(url: string, cache: Map<string, string>): Promise<string> {
  const known = cache.get(url);
  if (known) return known;
  const ref = parseNetns(url);
  const path = netnsPath(ref.kind === 'inode' ? (await resolveNetnsId(url)).ref : ref);
  if (cache.size >= 4096) cache.clear();
  cache.set(url, path);
  return path;
}

export function echoLiveness(opts: EchoLivenessOptions = {}): EchoLiveness {
  const prober = opts.prober ?? new IcmpProber();
  const waitMs = opts.waitMs ?? 1000;
  const paths = new Map<string, string>();
  /** connection id -> namespace file its checks use. */
  const users = new Map<string, string>();
  /** namespace file -> how many connections use it (a Close does not scan every connection's namespace). */
  const counts = new Map<string, number>();

  const release = (connId: string) => {
    const path = users.get(connId);
    if (path === undefined) return;
    users.delete(connId);
    const left = (counts.get(path) ?? 1) - 1;
    if (left > 0) return void counts.set(path, left);
    counts.delete(path);
    prober.forget(path);
  };

  const echo = (conn: Connection, path: string, dst: string): Promise<LivenessVerdict> => {
    if (users.get(conn.id) !== path) {
      release(conn.id);
      users.set(conn.id, path);
      counts.set(path, (counts.get(path) ?? 0) + 1);
    }
    return prober.echo(path, dst, waitMs).then(
      (r) => (r === 'reply' ? 'alive' : 'dead'),
      (err: unknown) => ({ cannotCheck: err instanceof Error ? err.message : String(err) }),
    );
  };

  // Not async: a check is one promise (the echo's), which matters at a thousand checks a second.
  const check = (conn: Connection): Promise<LivenessVerdict> => {
    const target = livenessTarget(conn);
    if (!target) return Promise.resolve({ cannotCheck: 'the connection names no client namespace or no dst address' });
    const known = paths.get(target.netnsUrl);
    if (known !== undefined) return echo(conn, known, target.dst);
    return nsFile(target.netnsUrl, paths).then(
      (path) => echo(conn, path, target.dst),
      // An inode:// namespace that is gone: nothing flows from it. A URL we cannot read: no check.
      (err: unknown) => (err instanceof InvalidArgumentError ? { cannotCheck: err.message } : 'dead'),
    );
  };

  return {
    check,
    release,
    close() {
      users.clear();
      counts.clear();
      prober.close();
    },
  };
}
