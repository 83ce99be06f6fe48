// Text and JSON views of registry entries and connections for `nsm get` and `nsm describe`.
import type { NetworkService, NetworkServiceEndpoint } from '../../api/index.js';
import { NetworkService as NS, NetworkServiceEndpoint as NSE, Connection } from '../../api/index.js';
import { formatTable } from '../../cluster/table.js';
import { stateName, type SeenConnection } from './connection-lists.js';

export type OutputFormat = 'table' | 'wide' | 'json';

const labelsText = (l: Record<string, string> | undefined) => Object.entries(l ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '-';
const ts = (d: Date | undefined) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');

export function servicesView(list: NetworkService[], o: OutputFormat): string[] {
  if (o === 'json') return [JSON.stringify(list.map((s) => NS.toJSON(s)), null, 2)];
  const wide = o === 'wide';
  return formatTable(
    ['NAME', 'PAYLOAD', 'MATCHES', ...(wide ? ['MATCH RULES'] : [])],
    list.map((s) => [s.name, s.payload || '-', String(s.matches.length), ...(wide ? [s.matches.length > 0 ? JSON.stringify((NS.toJSON(s) as { matches?: unknown }).matches) : '-'] : [])]),
  );
}

export function endpointsView(list: NetworkServiceEndpoint[], o: OutputFormat): string[] {
  if (o === 'json') return [JSON.stringify(list.map((e) => NSE.toJSON(e)), null, 2)];
  const wide = o === 'wide';
  return formatTable(
    ['NAME', 'SERVICES', 'URL', 'EXPIRES', ...(wide ? ['LABELS'] : [])],
    list.map((e) => [
      e.name,
      e.networkServiceNames.join(',') || '-',
      e.url || '-',
      ts(e.expirationTime),
      ...(wide ? [e.networkServiceNames.map((s) => `${s}:${labelsText(e.networkServiceLabels[s]?.labels)}`).join(' ') || '-'] : []),
    ]),
  );
}

const pathNames = (c: SeenConnection) => c.conn.path?.pathSegments.map((s) => s.name) ?? [];
const endpointOf = (c: SeenConnection) => c.conn.networkServiceEndpointName || pathNames(c).at(-1) || '-';

export function connectionsView(list: SeenConnection[], o: OutputFormat): string[] {
  if (o === 'json') return [JSON.stringify(list.map((c) => ({ id: c.id, nsmgrs: c.nsmgrs, connection: Connection.toJSON(c.conn) })), null, 2)];
  const wide = o === 'wide';
  return formatTable(
    ['ID', 'CLIENT', 'SERVICE', 'ENDPOINT', 'STATE', ...(wide ? ['MECHANISM', 'SRC', 'DST', 'PATH'] : [])],
    list.map((c) => {
      const ip = c.conn.context?.ipContext;
      return [
        c.id,
        pathNames(c)[0] ?? '-',
        c.conn.networkService,
        endpointOf(c),
        stateName(c.conn.state),
        ...(wide ? [c.conn.mechanism?.type || '-', ip?.srcIpAddrs.join(',') || '-', ip?.dstIpAddrs.join(',') || '-', pathNames(c).join(' > ')] : []),
      ];
    }),
  );
}

/** `nsm describe connection`: path with ids and tokens' expiry, mechanisms, addresses, counters. */
export function describeConnection(c: SeenConnection, now = new Date()): string[] {
  const conn = c.conn;
  const ip = conn.context?.ipContext;
  const out = [
    `Connection:   ${c.id}`,
    `Service:      ${conn.networkService}`,
    `Endpoint:     ${endpointOf(c)}`,
    `State:        ${stateName(conn.state)}`,
    `Labels:       ${labelsText(conn.labels)}`,
    `Mechanism:    ${conn.mechanism ? `${conn.mechanism.cls}/${conn.mechanism.type} ${labelsText(conn.mechanism.parameters)}` : '-'}`,
    `Source IPs:   ${ip?.srcIpAddrs.join(', ') || '-'}`,
    `Dest IPs:     ${ip?.dstIpAddrs.join(', ') || '-'}`,
    `Routes:       ${[...(ip?.srcRoutes ?? []).map((r) => `src ${r.prefix}${r.nextHop ? ` via ${r.nextHop}` : ''}`), ...(ip?.dstRoutes ?? []).map((r) => `dst ${r.prefix}${r.nextHop ? ` via ${r.nextHop}` : ''}`)].join(', ') || '-'}`,
    `Seen by:      ${c.nsmgrs.join(', ')}`,
    'Path:',
  ];
  const segs = conn.path?.pathSegments ?? [];
  out.push(
    ...formatTable(
      ['  #', 'NAME', 'ID', 'TOKEN EXPIRES', 'IN'],
      segs.map((s, i) => {
        const left = s.expires ? Math.round((s.expires.getTime() - now.getTime()) / 1000) : undefined;
        return [`  ${i}`, s.name, s.id, ts(s.expires), left === undefined ? '-' : left >= 0 ? `${left}s` : `expired ${-left}s ago`];
      }),
    ),
  );
  const counters = segs.filter((s) => Object.keys(s.metrics ?? {}).length > 0);
  out.push('Counters (path segment metrics, as of the last Request or refresh):');
  if (counters.length === 0) out.push('  none reported');
  for (const s of counters) out.push(`  ${s.name}: ${Object.entries(s.metrics).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return out;
}
