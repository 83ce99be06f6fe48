// Shared by `nsm vm` and `nsm vm-endpoint`: the check of the guest memory flag and the run of a qemu
// supervisor until qemu exits (its exit code) or SIGTERM/SIGINT stops it (0); an error exits 1 with one line.
import { messageOf } from '../api/errors.js';
import { createLogger, type Logger } from '../sdk/core/log.js';

/** Exits 2 with one line naming the command. */
export function failUsage(cmd: string, msg: string): never {
  process.stderr.write(`nsm: ${cmd}: ${msg}\n`);
  process.exit(2);
}

/** The --mem flag in MB (at least 64), or exit 2. */
export function guestMemMb(cmd: string, raw: string | undefined): number {
  const mem = Number(raw);
  if (!Number.isInteger(mem) || mem < 64) failUsage(cmd, `--mem must be an integer of at least 64 (MB), got ${JSON.stringify(raw)}`);
  return mem;
}

export async function runGuest(cmd: string, tag: string, run: (log: Logger, signal: AbortSignal) => Promise<number>): Promise<never> {
  const log = createLogger(tag);
  const ac = new AbortController();
  process.once('SIGTERM', () => ac.abort());
  process.once('SIGINT', () => ac.abort());
  try {
    process.exit(await run(log, ac.signal));
  } catch (err) {
    if (ac.signal.aborted) process.exit(0);
    process.stderr.write(`nsm: ${cmd}: ${messageOf(err)}\n`);
    log.error({ err: messageOf(err) }, `${cmd} failed`);
    process.exit(1);
  }
}
