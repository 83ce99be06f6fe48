// A LeaseStore in an append-only file: one JSON line per lease taken ({"id","addrs"}) or
// released ({"id","removed":true}), compacted (temporary file + rename) when loaded, so a
// restarted endpoint knows which addresses its connections hold; a change costs one small
// append however many leases there are. A torn last line (crash mid-write) is skipped. A file
// that cannot be written only costs the restart guarantee: logged once, never fatal.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { LeaseStore } from './p2p-pool.js';

interface Line {
  id?: unknown;
  addrs?: unknown;
  removed?: unknown;
}

const validAddrs = (a: unknown): a is string[] => Array.isArray(a) && a.length > 0 && a.length % 2 === 0 && a.every((x) => typeof x === 'string');

export function leaseFile(file: string, log?: Logger): LeaseStore {
  let warned = false;
  const guard = (what: () => void) => {
    try {
      what();
    } catch (err) {
      if (!warned) log?.warn({ file, err: (err as Error).message }, 'cannot write the address lease file: leases will not survive a restart');
      warned = true;
    }
  };
  /** The file open for appending, kept (one write per change on an endpoint's Request and Close, no open and close). */
  let fd: number | undefined;
  const reopen = () => {
    const was = fd;
    fd = undefined;
    if (was !== undefined) guard(() => closeSync(was));
  };
  const line = (l: object) =>
    guard(() => {
      try {
        fd ??= openSync(file, 'a');
        writeSync(fd, `${JSON.stringify(l)}\n`);
      } catch (err) {
        reopen();
        throw err;
      }
    });
  return {
    load() {
      const leases: Record<string, string[]> = {};
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // none yet: nothing to restore
      }
      for (const raw of text.split('\n')) {
        let l: Line;
        try {
          l = JSON.parse(raw) as Line;
        } catch {
          continue; // empty or torn
        }
        if (!l || typeof l.id !== 'string') continue;
        if (l.removed === true) delete leases[l.id];
        else if (validAddrs(l.addrs)) leases[l.id] = l.addrs;
      }
      guard(() => {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(`${file}.tmp`, Object.entries(leases).map(([id, addrs]) => `${JSON.stringify({ id, addrs })}\n`).join(''));
        renameSync(`${file}.tmp`, file);
        // Lines go to the compacted file from now on (not to the one it replaced).
        reopen();
      });
      return leases;
    },
    save(connId, addrs) {
      line({ id: connId, addrs });
    },
    remove(connId) {
      line({ id: connId, removed: true });
    },
    close: reopen,
  };
}
