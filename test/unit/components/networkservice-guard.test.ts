// The NetworkService wire check (issue 19 item 5): what the guarded decoder refuses
// before a hop sees a Request or Close.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceRequest } from '../../../src/api/index.js';
import { guardedNetworkServiceDefinition } from '../../../src/components/networkservice-guard.js';

const BAD = (v: unknown): string => Object.getOwnPropertySymbols(v as object).map((s) => (v as Record<symbol, string>)[s])[0] ?? '';
const decodeRequest = (b: number[]) => guardedNetworkServiceDefinition.methods.request.requestType.decode(Uint8Array.from(b));
const decodeClose = (b: number[]) => guardedNetworkServiceDefinition.methods.close.requestType.decode(Uint8Array.from(b));

describe('NetworkService wire check', () => {
  it('passes a well-formed Request and Close unchanged', () => {
    const req = NetworkServiceRequest.fromPartial({ connection: { id: 'c1', networkService: 'svc', labels: { app: 'x' } } });
    assert.equal(decodeRequest([...NetworkServiceRequest.encode(req).finish()]).connection?.networkService, 'svc');
    assert.equal(decodeClose([...Connection.encode(Connection.fromPartial({ id: 'c1' })).finish()]).id, 'c1');
  });
  it('negative nanos in a path segment', () => {
    // connection { path { path_segments { expires { seconds: 1, nanos: -5 } } } }
    const ts = [0x08, 1, 0x10, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const seg = [0x22, ts.length, ...ts];
    const path = [0x12, seg.length, ...seg];
    const conn = [0x32, path.length, ...path];
    assert.match(BAD(decodeRequest([0x0a, conn.length, ...conn])), /request\.connection\.path\.path_segments\.expires\.nanos -5 is out of range/);
    assert.match(BAD(decodeClose(conn)), /connection\.path\.path_segments\.expires\.nanos -5/);
  });
  it('invalid UTF-8 in network_service, a __proto__ label, a wrong wire type', () => {
    assert.match(BAD(decodeRequest([0x0a, 5, 0x12, 3, 0x61, 0xff, 0x62])), /request\.connection\.network_service is not valid UTF-8/);
    const kv = [0x0a, 9, ...Buffer.from('__proto__'), 0x12, 1, 0x78];
    assert.match(BAD(decodeRequest([0x0a, kv.length + 2, 0x2a, kv.length, ...kv])), /labels\.key "__proto__" is not allowed/);
    assert.match(BAD(decodeRequest([0x08, 1])), /request\.connection \(field 1\) has varint encoding/);
  });
});
