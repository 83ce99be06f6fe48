// Unit: the MEMIF data-path check (counters of the client's sending application) and the
// /proc/net/packet parser the MEMIF mechanism uses before adopting a cross-connect testpmd.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection, Mechanism } from '../../../src/api/index.js';
import { memifLiveness } from '../../../src/dataplane/dpdk/memif-liveness.js';
import { parsePacketTable, type DpdkInstance } from '../../../src/dataplane/dpdk/supervisor.js';
import type { PortStats } from '../../../src/dataplane/dpdk/testpmd.js';

const SOCKET = '/run/nsm/app/memif-0123/m0.sock';
const memifConn = () => Connection.fromPartial({ id: 'c1', mechanism: Mechanism.fromPartial({ cls: 'LOCAL', type: 'MEMIF', parameters: { socketfile: SOCKET } }) });

function rig() {
  const inst: DpdkInstance = { pid: 1, tag: 'nsm-tx-0123', log: '/dev/null' };
  const st = { stats: { rxPackets: 0, txPackets: 0 } as PortStats | undefined, running: true, t: 0 };
  const check = memifLiveness({
    appOf: (s) => (s === SOCKET ? inst : undefined),
    statsOf: () => st.stats,
    running: () => st.running,
    now: () => st.t,
    fallback: { check: () => Promise.resolve('alive' as const) },
  });
  const sample = (rx: number, tx: number, at: number) => {
    st.stats = { rxPackets: rx, txPackets: tx };
    st.t = at;
  };
  return { st, check, sample };
}

describe('memif liveness', () => {
  it('alive while packets come back; dead when packets go out and none come back', async () => {
    const { check, sample } = rig();
    const conn = memifConn();
    sample(0, 0, 0);
    assert.equal(await check.check(conn), 'alive');
    sample(1000, 1200, 1000);
    assert.equal(await check.check(conn), 'alive');
    sample(1000, 1200, 1500); // no new statistics yet: the verdict stands
    assert.equal(await check.check(conn), 'alive');
    sample(1000, 5000, 2000);
    assert.equal(await check.check(conn), 'dead');
    sample(1000, 5000, 2500);
    assert.equal(await check.check(conn), 'dead');
    sample(3000, 9000, 3000);
    assert.equal(await check.check(conn), 'alive');
  });

  it('dead when nothing is sent for longer than stillMs (the memif link is down)', async () => {
    const { check, sample } = rig();
    const conn = memifConn();
    sample(100, 100, 0);
    assert.equal(await check.check(conn), 'alive');
    sample(100, 100, 2000);
    assert.equal(await check.check(conn), 'alive');
    sample(100, 100, 3500);
    assert.equal(await check.check(conn), 'dead');
  });

  it('a new connection object (refresh, heal) starts a new series', async () => {
    const { check, sample } = rig();
    sample(100, 100, 0);
    await check.check(memifConn());
    sample(100, 100, 9000);
    assert.equal(await check.check(memifConn()), 'alive');
  });

  it('cannot check without a running application; other mechanisms go to the fallback', async () => {
    const { st, check } = rig();
    st.running = false;
    assert.match(JSON.stringify(await check.check(memifConn())), /no running memif application serves/);
    assert.equal(await check.check(Connection.fromPartial({ id: 'k', mechanism: Mechanism.fromPartial({ cls: 'LOCAL', type: 'KERNEL' }) })), 'alive');
  });
});

describe('parsePacketTable', () => {
  it('returns the interface index of the sockets given by inode (-1: its interface was deleted)', () => {
    const text = [
      'sk               RefCnt Type Proto  Iface R Rmem   User   Inode',
      '0000000045cd0a2d 3      3    0003   3     1 0      0      2022123',
      '0000000045cd0a2e 2      3    0003   -1    0 0      0      2022124',
      '0000000045cd0a2f 2      3    0003   7     0 0      0      999',
    ].join('\n');
    assert.deepEqual(parsePacketTable(text, new Set(['2022123', '2022124'])), [3, -1]);
  });
});
