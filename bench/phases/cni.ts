// Bench phase `cni`: the nsm-cni plugin's ADD (plugin exec -> cni-daemon -> one-node mesh) against the CNI ptp plugin ADD.
import { closeAllChannels } from '../../src/api/index.js';
import { cniAddTimes } from '../cni.js';
import { add, delNetns, log, namespaces, netns, newMesh, percentile, PREFIX, ptp, RUNS, stopMesh, wanted, type Phase } from '../lib/harness.js';

async function cniPhase(): Promise<void> {
  if (!wanted('cni.add.p50', 'cni.add.daemon.p50', 'cni.node-start.p50')) return;
  log('cni: nsm-cni ADD (plugin exec -> cni-daemon -> one-node mesh) against the CNI ptp plugin ADD');
  const mesh = newMesh();
  try {
    const t = await cniAddTimes({ mesh, netns, runs: RUNS, warmup: 3, log });
    const base = await ptp();
    add({ name: 'cni.add.p50', value: percentile(t.plugin, 50), unit: 'ms', baseline: percentile(base, 50), baselineLabel: 'CNI ptp ADD', note: 'whole plugin exec as a runtime sees it (node start included) vs the ptp binary with host-local IPAM' });
    add({ name: 'cni.add.p99', value: percentile(t.plugin, 99), unit: 'ms', baseline: percentile(base, 99), baselineLabel: 'CNI ptp ADD' });
    add({ name: 'cni.node-start.p50', value: percentile(t.nodeStart, 50), unit: 'ms', note: '`node -e 0` in the same loop: the process-start floor of a plugin written for Node' });
    add({ name: 'cni.add.daemon.p50', value: percentile(t.daemon, 50), unit: 'ms', baseline: percentile(base, 50), baselineLabel: 'CNI ptp ADD', note: 'the same ADD posted straight to cni-daemon: the plugin minus its process start' });
  } finally {
    closeAllChannels();
    await stopMesh(mesh);
    for (const n of [...namespaces].filter((x) => x.startsWith(`${PREFIX}cni-`))) await delNetns(n);
  }
}

export const cni: Phase = { name: 'cni', run: cniPhase };
