// Unit: the MEMIF mechanism module (checks, sides) and the testpmd command line and statistics parser.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Mechanism } from '../../../src/api/index.js';
import { memif } from '../../../src/dataplane/mechanisms/memif/index.js';
import { parseStats, tagOf, testpmdArgs } from '../../../src/dataplane/dpdk/testpmd.js';

const mech = (parameters: Record<string, string>) => Mechanism.fromPartial({ cls: 'LOCAL', type: 'MEMIF', parameters });

describe('memif mechanism', () => {
  it('accepts an absolute socket path, alone or repeated as inodeURL file://PATH', () => {
    assert.equal(memif.check(mech({ socketfile: '/run/nsm/app/memif-0123/m0.sock' })), undefined);
    assert.equal(memif.check(mech({ socketfile: '/run/x/m0.sock', inodeURL: 'file:///run/x/m0.sock' })), undefined);
    assert.equal(memif.check(mech({ inodeURL: 'file:///run/x/m0.sock' })), undefined);
  });

  it('refuses a missing, relative or injecting socket path and disagreeing parameters, naming the parameter', () => {
    assert.match(memif.check(mech({}))!, /parameter "socketfile"/);
    assert.match(memif.check(mech({ socketfile: 'm0.sock' }))!, /absolute path/);
    assert.match(memif.check(mech({ socketfile: '/run/x.sock,role=client' }))!, /"socketfile"/);
    assert.match(memif.check(mech({ socketfile: '/run/a.sock', inodeURL: 'file:///run/b.sock' }))!, /disagree/);
  });

  it('puts a tunnel toward another node in the forwarder namespace under a short per-socket name', () => {
    const side = memif.clientSide(mech({ socketfile: '/run/x/m0.sock' }), undefined);
    assert.equal(side.netns, 'host');
    assert.match(side.name, /^nsm-m[0-9a-f]{8}$/);
    assert.equal(side.socketfile, '/run/x/m0.sock');
    assert.deepEqual(side.addrs, []);
    assert.throws(() => memif.endpointSide(mech({}), undefined), /did not say where its memif socket is/);
  });
});

describe('testpmd', () => {
  it('pins both lcores to one CPU, runs without hugepages and carries its tag', () => {
    const args = testpmdArgs({ tag: tagOf('fwd', 'c1'), cpu: 1, mode: 'io', ports: [{ kind: 'memif', role: 'client', socket: '/a.sock' }, { kind: 'af_packet', iface: 'nsm-m1' }] });
    assert.ok(args.includes('--lcores=0@1,1@1'));
    assert.ok(args.includes('--no-huge'));
    assert.equal(args[args.indexOf('--file-prefix') + 1], tagOf('fwd', 'c1'));
    assert.match(tagOf('fwd', 'c1'), /^nsm-fwd-[0-9a-f]{12}$/);
    assert.ok(args.includes('net_memif0,role=client,socket=/a.sock,socket-abstract=no'));
    assert.ok(args.includes('net_af_packet1,iface=nsm-m1'));
    assert.ok(args.includes('--forward-mode=io'));
  });

  it('reads the highest counts per port from periodic and final statistics', () => {
    const out = `
  ######################## NIC statistics for port 0  ########################
  RX-packets: 100        RX-missed: 0          RX-bytes:  6000
  RX-errors: 0
  TX-packets: 90         TX-errors: 0          TX-bytes:  5400
  ######################## NIC statistics for port 1  ########################
  RX-packets: 7          RX-missed: 0          RX-bytes:  6000
  TX-packets: 8          TX-errors: 0          TX-bytes:  5400
  ---------------------- Forward statistics for port 0  ----------------------
  RX-packets: 150            RX-dropped: 0             RX-total: 150
  TX-packets: 140            TX-dropped: 3             TX-total: 143
`;
    assert.deepEqual(parseStats(out), [{ rxPackets: 150, txPackets: 140 }, { rxPackets: 7, txPackets: 8 }]);
    assert.deepEqual(parseStats('nothing'), []);
  });
});
