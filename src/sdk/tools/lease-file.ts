// A LeaseStore in a small JSON file ({ connId: [addresses] }), rewritten atomically
// (temporary file + rename) on every change, so a restarted endpoint knows which
// addresses its connections hold. A file that cannot be written only costs the
// restart guarantee: it is logged once, never fatal.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { LeaseStore } from './p2p-pool.js';

export function leaseFile(file: string, log?: Logger): LeaseStore {
  let leases: Record<string, string[]> = {};
  let warned = false;
  const flush = () => {
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, JSON.stringify(leases));
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      if (!warned) log?.warn({ file, err: (err as Error).message }, 'cannot write the address lease file: leases will not survive a restart');
      warned = true;
    }
  };
  return {
    load() {
      try {
        const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
          leases = Object.fromEntries(
            Object.entries(parsed as Record<string, unknown>).filter(
              (e): e is [string, string[]] => Array.isArray(e[1]) && e[1].length % 2 === 0 && e[1].every((a) => typeof a === 'string'),
            ),
          );
        }
      } catch {
        leases = {}; // none yet, or torn: nothing to restore
      }
      return { ...leases };
    },
    save(connId, addrs) {
      leases[connId] = addrs;
      flush();
    },
    remove(connId) {
      if (!(connId in leases)) return;
      delete leases[connId];
      flush();
    },
  };
}
