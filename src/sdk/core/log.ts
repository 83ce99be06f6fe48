// Structured logging (pino) for every component: one JSON line per event, to stderr.
import { pino, type Logger } from 'pino';

export type { Logger };

/** A component's logger; level from NSM_LOG_LEVEL (default "info"). */
export function createLogger(name: string, level = process.env.NSM_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid, name } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything: the default inside libraries and unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
