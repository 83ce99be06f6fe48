// Plain-text tables for `nsm up` and `nsm status`: connections and components, columns padded.
import type { ConnectionStatus } from './connections.js';
import type { ComponentStatus } from './status.js';

export function formatTable(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** Every address of an end, comma separated (older status files have only the first). */
const all = (list: string[] | undefined, first: string): string => (list?.length ? list.join(',') : first || '-');

export function connectionTable(conns: ConnectionStatus[]): string[] {
  return formatTable(
    ['CLIENT', 'IF', 'SERVICE', 'ENDPOINT', 'MECHANISM', 'REMOTE', 'SRC', 'DST', 'STATE', 'PATH'],
    conns.map((c) => [c.client, c.interface, c.service, c.endpoint || '-', c.mechanism || '-', c.remoteMechanism || '-', all(c.srcIps, c.srcIp), all(c.dstIps, c.dstIp), c.state, c.path.join(' > ') || '-']),
  );
}

export function componentTable(comps: ComponentStatus[]): string[] {
  return formatTable(
    ['COMPONENT', 'KIND', 'NODE', 'PID', 'STATE', 'RESTARTS', 'NETNS', 'URL'],
    comps.map((c) => [c.name, c.kind, c.node ?? '-', String(c.pid || '-'), c.state, String(c.restarts), c.netns, c.url || '-']),
  );
}
