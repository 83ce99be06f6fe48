// E2E smoke test of vhost-user with the supervisor the MEMIF mechanism uses: dpdk-testpmd with the
// vhost PMD (server, macswap) and a virtio_user peer (flowgen, as a VM's virtio NIC would be) exchange
// packets over the vhost-user socket; counts both ways; nothing is left running.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { startTestpmd, stopTestpmd } from '../../../src/dataplane/dpdk/supervisor.js';
import { tagOf } from '../../../src/dataplane/dpdk/testpmd.js';
import { dpdkProcesses, hasTestpmd } from './helpers.js';

test('vhost-user: vhost PMD server (macswap) <-> virtio_user (flowgen) exchange packets both ways', { skip: !hasTestpmd() && 'dpdk-testpmd is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-e2e-vhost-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'vhost0.sock');
  const id = `vhost-smoke-${process.pid}`;
  const server = await startTestpmd({ tag: tagOf('vhost', id), ports: [{ kind: 'vhost', socket }], mode: 'macswap', cpu: 0 }, dir, { timeoutMs: 30_000 });
  try {
    const peer = await startTestpmd({ tag: tagOf('virtio', id), ports: [{ kind: 'virtio_user', socket }], mode: 'flowgen', cpu: 1 }, dir, { timeoutMs: 30_000 });
    await sleep(2000);
    const [sent] = await stopTestpmd(peer);
    const [bounced] = await stopTestpmd(server);
    t.diagnostic(`virtio_user sent ${sent?.txPackets}, got back ${sent?.rxPackets}; vhost received ${bounced?.rxPackets}, sent back ${bounced?.txPackets}`);
    assert.ok(sent && sent.txPackets > 1000, `virtio_user sent ${sent?.txPackets}`);
    assert.ok(sent.rxPackets > 1000, `virtio_user got back ${sent.rxPackets}`);
    assert.ok(bounced && bounced.rxPackets > 1000 && bounced.txPackets >= sent.rxPackets, JSON.stringify(bounced));
  } finally {
    await stopTestpmd(server);
  }
  assert.deepEqual(dpdkProcesses().filter((p) => p.tag.includes(tagOf('', id).slice(5))), []);
});
