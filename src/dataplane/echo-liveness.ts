// The client's data-path check (the sdk's LivenessCheck): one in-process ICMP/ICMPv6 echo from the
// client's namespace to the connection's dst address through a shared IcmpProber. It keeps the
// prober's per-namespace sockets open while a connection of that namespace lives, and closes them
// when the last one is released.
import { livenessTarget, type LivenessCheck, type LivenessVerdict } from '../sdk/networkservice/liveness.js';
import type { Connection } from '../api/index.js';
import { IcmpProber, type EchoProber } from './icmp-prober.js';
import { InvalidArgumentError } from '../sdk/core/errors.js';
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

/** The namespace file an inodeURL names (inode:// URLs are looked up once each). */
async function nsFile(url: string, cache: Map<string, string>): Promise<string> {
  const ref = parseNetns(url);
  if (ref.kind !== 'inode') return netnsPath(ref);
  const known = cache.get(url);
  if (known) return known;
  const path = netnsPath((await resolveNetnsId(url)).ref);
  cache.set(url, path);
  return path;
}

export function echoLiveness(opts: EchoLivenessOptions = {}): EchoLiveness {
  const prober = opts.prober ?? new IcmpProber();
  const waitMs = opts.waitMs ?? 1000;
  const inodes = new Map<string, string>();
  /** connection id -> namespace file its checks use. */
  const users = new Map<string, string>();

  const release = (connId: string) => {
    const path = users.get(connId);
    if (path === undefined) return;
    users.delete(connId);
    if (![...users.values()].includes(path)) prober.forget(path);
  };

  const check = async (conn: Connection): Promise<LivenessVerdict> => {
    const target = livenessTarget(conn);
    if (!target) return { cannotCheck: 'the connection names no client namespace or no dst address' };
    let path: string;
    try {
      path = await nsFile(target.netnsUrl, inodes);
    } catch (err) {
      // An inode:// namespace that is gone: nothing flows from it. A URL we cannot read: no check.
      return err instanceof InvalidArgumentError ? { cannotCheck: err.message } : 'dead';
    }
    if (users.get(conn.id) !== path) {
      release(conn.id);
      users.set(conn.id, path);
    }
    try {
      return (await prober.echo(path, target.dst, waitMs)) === 'reply' ? 'alive' : 'dead';
    } catch (err) {
      return { cannotCheck: err instanceof Error ? err.message : String(err) };
    }
  };

  return {
    check,
    release,
    close() {
      users.clear();
      prober.close();
    },
  };
}
