// connection-line: the JSON summary clients and passthroughs print per connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../../src/api/index.js';
import { connectionLine, stateLine } from '../../../src/components/connection-line.js';

const conn = Connection.fromPartial({
  id: 'c1',
  networkService: 'svc',
  networkServiceEndpointName: 'nse-1',
  mechanism: { cls: 'LOCAL', type: 'KERNEL', parameters: { name: 'nsm-1' } },
  context: { ipContext: { srcIpAddrs: ['169.254.0.1/32'], dstIpAddrs: ['169.254.0.0/32'] } },
  path: { index: 0, pathSegments: [{ name: 'nsc' }, { name: 'nsmgr' }, { name: 'fwd' }, { name: 'nse-1' }] },
});

test('a full line names the interface from the mechanism unless given, and the path in order', () => {
  assert.deepEqual(connectionLine(conn), {
    id: 'c1', service: 'svc', endpoint: 'nse-1', interface: 'nsm-1', mechanism: 'KERNEL',
    srcIp: '169.254.0.1/32', dstIp: '169.254.0.0/32', srcIps: ['169.254.0.1/32'], dstIps: ['169.254.0.0/32'], path: ['nsc', 'nsmgr', 'fwd', 'nse-1'],
  });
  assert.equal(connectionLine(conn, 'other', 'UP').interface, 'other');
  assert.equal(connectionLine(conn, 'other', 'UP').state, 'UP');
});

test('dual stack: srcIp/dstIp are the first addresses, srcIps/dstIps all of them', () => {
  const dual = Connection.fromPartial({
    id: 'd',
    context: { ipContext: { srcIpAddrs: ['2001:db8::1/128', '169.254.0.1/32'], dstIpAddrs: ['2001:db8::/128', '169.254.0.0/32'] } },
  });
  const line = connectionLine(dual);
  assert.equal(line.srcIp, '2001:db8::1/128');
  assert.equal(line.dstIp, '2001:db8::/128');
  assert.deepEqual(line.srcIps, ['2001:db8::1/128', '169.254.0.1/32']);
  assert.deepEqual(line.dstIps, ['2001:db8::/128', '169.254.0.0/32']);
});

test('a connection without IP context or mechanism still gives a line', () => {
  const line = connectionLine(Connection.fromPartial({ id: 'x' }));
  assert.equal(line.interface, '');
  assert.equal(line.srcIp, undefined);
  assert.equal(line.srcIps, undefined);
  assert.deepEqual(line.path, []);
});

test('state lines carry id, interface and state only', () => {
  assert.deepEqual(stateLine('c1', 'nsm-1', 'CLOSED'), { id: 'c1', interface: 'nsm-1', state: 'CLOSED' });
});
