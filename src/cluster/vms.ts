// The VM side of `nsm up`/`nsm down`/`nsm status`: build the VM image before any `nsm vm` starts
// (the first build fetches the kernel package), sweep the mesh's tagged qemu processes after its
// components stopped, and tell whether a VM's guest gets echo replies (its console, not the namespace).
import { readFile } from 'node:fs/promises';
import { ensureVmImage } from '../platforms/vm/image.js';
import { PING_REPLY } from '../platforms/vm/guest-config.js';
import { sweepQemus, vmTagPrefix } from '../platforms/vm/qemu.js';
import type { ComponentPlan, MeshPlan } from './mesh-plan.js';

const hasVms = (p: MeshPlan) => p.workloads.some((w) => w.vm);

/** The `nsm vm-endpoint` components: started before the endpoints, which register once their guest is ready. */
export function endpointVmComponents(p: MeshPlan): ComponentPlan[] {
  const names = new Set(p.workloads.filter((w) => w.kind === 'endpoint' && w.vm).map((w) => w.vm!.component));
  return p.components.filter((c) => c.kind === 'vm' && names.has(c.name));
}

export async function prepareVmImage(p: MeshPlan, progress: (line: string) => void): Promise<void> {
  if (!hasVms(p)) return;
  const t = Date.now();
  const img = await ensureVmImage();
  progress(`VM image ready in ${Date.now() - t} ms (${img.kernelPackage}, ${img.initrd})`);
}

/** Extra time `nsm up` waits for connections when the mesh has VMs: a TCG boot on a loaded host takes up to minutes. */
export const vmBootAllowanceMs = (p: MeshPlan) => (hasVms(p) ? 180_000 : 0);

/** Kills qemu processes tagged with the mesh (left when an `nsm vm` was SIGKILLed); returns their tags. */
export async function sweepVms(p: MeshPlan): Promise<string[]> {
  return hasVms(p) ? sweepQemus(vmTagPrefix(p.name)) : [];
}

/** How recent the guest's last echo reply from `dst` must be to count as UP. */
const FRESH_MS = 3000;

/** Whether the VM's console shows an echo reply from `dst` in the last 3 s. */
export async function vmGetsReplies(consoleFile: string, dst: string, now = Date.now()): Promise<boolean> {
  const text = await readFile(consoleFile, 'utf8').catch(() => '');
  const lines = text.trimEnd().split('\n');
  for (let i = lines.length - 1; i >= 0 && i >= lines.length - 50; i--) {
    const line = lines[i]!;
    const m = PING_REPLY.exec(line);
    if (!m || m[1] !== dst.split('/')[0]) continue;
    return now - Date.parse(line.slice(0, line.indexOf(' '))) <= FRESH_MS;
  }
  return false;
}
