// Identity from files (--trust-bundle, --svid-cert, --svid-key, e.g. written by SPIRE's helper or
// cert-manager): read at start and polled for changes; a changed set that checks out replaces the SVID,
// a broken one (half-written, key and certificate out of step) is logged and retried at the next poll. At start,
// a set caught mid-rotation (the writer renames the files one by one) is read again for up to START_SETTLE_MS.
import { readFileSync, statSync } from 'node:fs';
import { IdentityProvider, parseIdentity, type IdentityMaterial } from './identity.js';

export interface IdentityFiles {
  trustBundle: string;
  svidCert: string;
  svidKey: string;
}

function read(f: IdentityFiles): IdentityMaterial {
  return { bundlePem: readFileSync(f.trustBundle, 'utf8'), certPem: readFileSync(f.svidCert, 'utf8'), keyPem: readFileSync(f.svidKey, 'utf8') };
}

/** How long a start waits for a set of files that does not check out (yet) to settle. */
const START_SETTLE_MS = 3000;

/** Blocks the thread for `ms` (only at start, before anything else runs). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The identity the files hold now. A rotation replaces them one at a time, so a process started at that
 * moment may read a new certificate with the old key: such a set is read again every 50 ms until it checks
 * out or START_SETTLE_MS pass; a missing file fails at once.
 */
function readSettled(f: IdentityFiles): ReturnType<typeof parseIdentity> {
  const deadline = Date.now() + START_SETTLE_MS;
  for (;;) {
    try {
      return parseIdentity(read(f));
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT' || Date.now() >= deadline) throw err;
      sleepSync(50);
    }
  }
}

function stamp(f: IdentityFiles): string {
  return [f.trustBundle, f.svidCert, f.svidKey].map((p) => {
    try {
      const s = statSync(p);
      return `${s.mtimeMs}/${s.size}/${s.ino}`;
    } catch {
      return 'missing';
    }
  }).join('|');
}

export interface WatchedIdentity {
  provider: IdentityProvider;
  stop(): void;
}

/** Loads the files (throws with the reason when they do not form a valid SVID) and polls them every `pollMs`. */
export function watchIdentityFiles(files: IdentityFiles, opts: { pollMs?: number; onError?: (err: unknown) => void; onReload?: (spiffeId: string) => void } = {}): WatchedIdentity {
  let last = stamp(files);
  const provider = new IdentityProvider(readSettled(files));
  let failed = '';
  const timer = setInterval(() => {
    const now = stamp(files);
    if (now === last) return;
    try {
      provider.update(read(files));
      last = now;
      failed = '';
      opts.onReload?.(provider.spiffeId);
    } catch (err) {
      if (failed !== now) opts.onError?.(err);
      failed = now;
    }
  }, opts.pollMs ?? 1000);
  timer.unref();
  return { provider, stop: () => clearInterval(timer) };
}
