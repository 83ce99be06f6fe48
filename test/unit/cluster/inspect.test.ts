// Inspection views: readable log lines, connection merging across nsmgrs, get tables and describe.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkService, NetworkServiceEndpoint, State } from '../../../src/api/index.js';
import { readableLine } from '../../../src/observability/log-lines.js';
import { findConnection } from '../../../src/cluster/inspect/connection-lists.js';
import { connectionsView, describeConnection, endpointsView, servicesView } from '../../../src/cluster/inspect/format.js';

const conn = Connection.fromPartial({
  id: 'n1',
  networkService: 'svc',
  networkServiceEndpointName: 'nse-1',
  state: State.UP,
  mechanism: { cls: 'LOCAL', type: 'KERNEL', parameters: { name: 'nsm-1' } },
  context: { ipContext: { srcIpAddrs: ['169.254.1.1/32'], dstIpAddrs: ['169.254.1.0/32'] } },
  path: {
    index: 1,
    pathSegments: [
      { name: 'nsc-1', id: 'c-123', expires: new Date('2030-01-01T00:10:00Z') },
      { name: 'nsmgr-1', id: 'n1', expires: new Date('2030-01-01T00:10:00Z') },
      { name: 'fwd-1', id: 'f1', expires: new Date('2030-01-01T00:00:30Z'), metrics: { 'nsm-1_rx_bytes': '1500' } },
      { name: 'nse-1', id: 'e1' },
    ],
  },
});
const seen = { id: 'c-123', conn, nsmgrs: ['unix:///x.sock'] };

describe('inspection views', () => {
  it('readableLine: time, level, component, connection id, message, other fields', () => {
    const l = readableLine(JSON.stringify({ level: 40, time: Date.UTC(2030, 0, 1), pid: 1, name: 'fwd-1', connId: 'abc', msg: 'heal attempt failed', err: 'no socket here' }), 'x');
    assert.equal(l.text, '2030-01-01T00:00:00.000Z WARN  fwd-1 [abc] heal attempt failed err="no socket here"');
    assert.equal(l.time, Date.UTC(2030, 0, 1));
    assert.match(readableLine('not json', 'nsc-1').text, /nsc-1 not json$/);
  });

  it('findConnection by any segment id or a unique prefix', () => {
    assert.equal(findConnection([seen], 'f1').length, 1);
    assert.equal(findConnection([seen], 'c-1').length, 1);
    assert.equal(findConnection([seen], 'zz').length, 0);
  });

  it('get views: tables and JSON', () => {
    const t = connectionsView([seen], 'wide');
    assert.match(t[0]!, /^ID\s+CLIENT\s+SERVICE\s+ENDPOINT\s+STATE\s+MECHANISM\s+SRC\s+DST\s+PATH$/);
    assert.match(t[1]!, /^c-123\s+nsc-1\s+svc\s+nse-1\s+UP\s+KERNEL\s+169\.254\.1\.1\/32\s+169\.254\.1\.0\/32\s+nsc-1 > nsmgr-1 > fwd-1 > nse-1$/);
    assert.equal((JSON.parse(connectionsView([seen], 'json')[0]!) as { id: string }[])[0]!.id, 'c-123');
    assert.match(servicesView([NetworkService.fromPartial({ name: 'svc', payload: 'ETHERNET' })], 'table')[1]!, /^svc\s+ETHERNET\s+0$/);
    const e = endpointsView([NetworkServiceEndpoint.fromPartial({ name: 'nse-1', networkServiceNames: ['svc'], url: 'unix:///n.sock', networkServiceLabels: { svc: { labels: { app: 'a' } } } })], 'wide');
    assert.match(e[1]!, /^nse-1\s+svc\s+unix:\/\/\/n\.sock\s+-\s+svc:app=a$/);
  });

  it('describe: path with token expiry, mechanism, addresses and counters', () => {
    const text = describeConnection(seen, new Date('2030-01-01T00:00:00Z')).join('\n');
    assert.match(text, /Mechanism:\s+LOCAL\/KERNEL name=nsm-1/);
    assert.match(text, /2\s+fwd-1\s+f1\s+2030-01-01T00:00:30Z\s+30s/);
    assert.match(text, /3\s+nse-1\s+e1\s+-\s+-/);
    assert.match(text, /fwd-1: nsm-1_rx_bytes=1500/);
  });
});
