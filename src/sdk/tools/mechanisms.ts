// Mechanism classes, types and parameter keys, spelled as upstream spells them,
// and small helpers to build and read mechanisms.
import { Mechanism } from '../../api/index.js';

export const CLS_LOCAL = 'LOCAL';
export const CLS_REMOTE = 'REMOTE';
export const KERNEL = 'KERNEL';
export const VXLAN = 'VXLAN';
export const MEMIF = 'MEMIF';
/** A local extension (upstream's v1 API has no vhost-user mechanism): a virtio NIC (VM or virtio-user) on a vhost-user socket. */
export const VHOSTUSER = 'VHOSTUSER';

/** Parameter keys. */
export const P = {
  name: 'name',
  inodeURL: 'inodeURL',
  netnsInode: 'netnsInode',
  srcIp: 'src_ip',
  dstIp: 'dst_ip',
  vni: 'vni',
  mtu: 'MTU',
  /** MEMIF: the socket file (we use file-system sockets: its absolute path; inodeURL repeats it as file://PATH, as upstream's FS-socket case). */
  socketfile: 'socketfile',
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

export function memifMechanism(params: Record<string, string>): Mechanism {
  return Mechanism.fromPartial({ cls: CLS_LOCAL, type: MEMIF, parameters: params });
}

export function isMemif(m: Mechanism | undefined): boolean {
  return !!m && m.type === MEMIF;
}

/** A MEMIF mechanism's socket file path (parameter socketfile, else inodeURL's file:// path). */
export function memifSocketOf(m: Mechanism): string | undefined {
  const file = m.parameters[P.socketfile];
  if (file) return file;
  const url = m.parameters[P.inodeURL];
  return url?.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : undefined;
}

/** VHOSTUSER (local extension): the workload names its socket file (socketfile, inodeURL file://PATH); the forwarder serves it. */
export function vhostUserMechanism(params: Record<string, string>): Mechanism {
  return Mechanism.fromPartial({ cls: CLS_LOCAL, type: VHOSTUSER, parameters: params });
}

export function isVhostUser(m: Mechanism | undefined): boolean {
  return !!m && m.type === VHOSTUSER;
}
