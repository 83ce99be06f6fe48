// Unit: a forwarder's sweep of cross-connect testpmds left by an earlier life leaves alone the one a
// Request is starting at that moment (it is claimed before its start, not after). A stand-in testpmd
// (bash named ...testpmd, its arguments on its command line, "forwarding" after 0.4 s) keeps DPDK out.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, it } from 'node:test';
import type { ForwarderDataplane } from '../../../src/sdk/tools/forwarder-dataplane.js';

const dir = mkdtempSync(join(tmpdir(), 'nsm-unit-memif-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fake = join(dir, 'fake-dpdk-testpmd');
// The background sleep is forked first: a fork right after the "forwarding" line was, for an instant, a second
// process with the stand-in's command line, which the test's process listing could see (CI did once).
const body = `trap "kill \\$! 2>/dev/null; exit 0" INT TERM; sleep 60 & sleep 0.4; echo "packet forwarding - ports=2"; wait`;
writeFileSync(fake, `#!/bin/bash\nexec -a "$0" bash -c '${body}' "$0" "$@"\n`);
chmodSync(fake, 0o755);
process.env.NSM_DPDK_TESTPMD = fake;
process.env.NSM_DPDK_DIR = join(dir, 'dpdk');

it('a sweep during a cross-connect testpmd start does not stop it', async () => {
  const { run, memif } = await import('../../../src/dataplane/mechanisms/memif/index.js');
  const { findTestpmd } = await import('../../../src/dataplane/dpdk/supervisor.js');
  const sockets = ['a.sock', 'b.sock'].map((n) => join(dir, n));
  for (const s of sockets) writeFileSync(s, '');
  const starting = run('conn-sweep-race', sockets.map((socket) => ({ kind: 'memif' as const, role: 'client' as const, socket })));
  await sleep(150);
  assert.equal(await memif.sweep!(), 0, 'the sweep stopped the testpmd being started');
  const inst = await starting;
  assert.deepEqual(findTestpmd(inst.tag, join(dir, 'dpdk')).map((i) => i.pid), [inst.pid]);
  await memif.release!('conn-sweep-race', {} as ForwarderDataplane); // MEMIF's release does not use the dataplane
  assert.deepEqual(findTestpmd(inst.tag, join(dir, 'dpdk')), []);
});
