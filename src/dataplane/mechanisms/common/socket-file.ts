// The socket-file parameters that the DPDK-backed local mechanisms (MEMIF, VHOSTUSER) share: the
// check of a workload's `socketfile` / `inodeURL` pair, and the removal of a stale socket file
// before a vhost-user server binds it again (only a socket nobody listens on, never another file).
import { lstatSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, normalize } from 'node:path';
import type { Mechanism } from '../../../api/index.js';
import { FailedPreconditionError } from '../../../api/errors.js';
import { memifSocketOf, P } from '../../../sdk/tools/mechanisms.js';

/** A socket path we pass to DPDK's --vdev (no commas or spaces) and that fits sockaddr_un. */
const SOCKET_RE = /^\/[\w./-]{1,100}$/;

/** What is wrong with a mechanism's socket-file parameters (undefined: usable); `type` names it in the message. */
export function checkSocketfile(m: Mechanism, type: string): string | undefined {
  const socket = memifSocketOf(m);
  if (!socket) return `${type} mechanism needs the workload's socket file in parameter "socketfile"`;
  if (!SOCKET_RE.test(socket)) return `${type} parameter "socketfile" must be an absolute path of at most 101 characters of A-Z a-z 0-9 _ . / -: ${JSON.stringify(socket)}`;
  if (normalize(socket) !== socket) return `${type} parameter "socketfile" must be a normalized path (no "..", "." or "//" parts): ${JSON.stringify(socket)}`;
  const url = m.parameters[P.inodeURL];
  if (url && url !== `file://${socket}`) return `${type} parameters disagree: "inodeURL" ${JSON.stringify(url)} is not file://${socket}`;
  return undefined;
}

/** Whether a process accepts connections on the socket at `path`. */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Before a server binds `path`: its directory must exist; a socket left there by a server that is gone is
 * removed; a socket someone listens on, or any other file, is refused (a client names the path: the
 * forwarder must not take another party's socket away).
 */
export async function clearSocketPath(path: string): Promise<void> {
  try {
    if (!lstatSync(dirname(path)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new FailedPreconditionError(`the directory of socket ${path} does not exist (the workload makes it before it requests)`);
  }
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new FailedPreconditionError(`${path} exists and is not a socket: refusing to serve vhost-user there`);
  if (await listening(path)) throw new FailedPreconditionError(`socket ${path} is in use by another process: refusing to serve vhost-user there`);
  rmSync(path, { force: true });
}
