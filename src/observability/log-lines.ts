// Readable log lines for `nsm logs`: a component's pino JSON line becomes
// `TIME LEVEL COMPONENT [CONNECTION-ID] message key=value ...`; other lines pass through as they are.

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['time', 'level', 'name', 'pid', 'hostname', 'msg', 'connId', 'v']);

export interface ReadableLine {
  /** Milliseconds since the epoch (0 when the line has none). */
  time: number;
  text: string;
}

const value = (v: unknown): string => (typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v));

/** One line of a component's log, made readable (`component` names lines that carry no name). */
export function readableLine(line: string, component: string): ReadableLine {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
    if (typeof rec !== 'object' || rec === null) throw new Error('not an object');
  } catch {
    return { time: 0, text: `${' '.repeat(24)} ${'-'.padEnd(5)} ${component} ${line}` };
  }
  const time = typeof rec.time === 'number' ? rec.time : 0;
  const level = LEVELS[rec.level as number] ?? JSON.stringify(rec.level ?? '-');
  const name = typeof rec.name === 'string' ? rec.name : component;
  const conn = typeof rec.connId === 'string' ? ` [${rec.connId}]` : '';
  const rest = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  const when = time ? new Date(time).toISOString() : '-'.padEnd(24);
  return { time, text: `${when} ${level.padEnd(5)} ${name}${conn} ${typeof rec.msg === 'string' ? rec.msg : JSON.stringify(rec.msg ?? '')}${rest ? ` ${rest}` : ''}` };
}
