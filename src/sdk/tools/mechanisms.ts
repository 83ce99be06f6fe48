// Mechanism classes, types and parameter keys, spelled as upstream spells them,
// and small helpers to build and read mechanisms.
import { Mechanism } from '../../api/index.js';

export const CLS_LOCAL = 'LOCAL';
export const CLS_REMOTE = 'REMOTE';
export const KERNEL = 'KERNEL';
export const VXLAN = 'VXLAN';

/** Parameter keys. */
export const P = {
  name: 'name',
  inodeURL: 'inodeURL',
  netnsInode: 'netnsInode',
  srcIp: 'src_ip',
  dstIp: 'dst_ip',
  vni: 'vni',
  mtu: 'MTU',
} as const;

export function kernelMechanism(params: Record<string, string>): Mechanism {
  return Mechanism.fromPartial({ cls: CLS_LOCAL, type: KERNEL, parameters: params });
}

export function vxlanMechanism(params: Record<string, string>): Mechanism {
  return Mechanism.fromPartial({ cls: CLS_REMOTE, type: VXLAN, parameters: params });
}

export function isKernel(m: Mechanism | undefined): boolean {
  return !!m && m.type === KERNEL;
}

export function isVxlan(m: Mechanism | undefined): boolean {
  return !!m && m.type === VXLAN;
}

export function describeMechanisms(ms: Mechanism[]): string {
  return ms.length === 0 ? '(none)' : ms.map((m) => `${m.cls}/${m.type}`).join(', ');
}
