// The rare kernel operations that spawn a process: listing links as JSON and writing sysctls
// inside a namespace (the batch channel cannot return structured output or touch /proc/sys).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { FailedPreconditionError } from '../api/errors.js';
import { describeNetns, netnsPath, type NetnsRef } from './netns.js';

const execFileP = promisify(execFile);

/** A link as seen by `ip -json -d link show`. */
export interface LinkInfo {
  name: string;
  index: number;
  alias?: string;
  kind?: string;
  mtu: number;
  up: boolean;
  master?: string;
  /** VXLAN only: its VNI and underlay addresses. */
  vni?: number;
  local?: string;
  remote?: string;
}

interface RawLink {
  ifindex: number;
  ifname: string;
  ifalias?: string;
  mtu: number;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; remote?: string } };
}

function ipArgs(ref: NetnsRef, args: string[]): [string, string[]] {
  switch (ref.kind) {
    case 'host':
      return ['ip', args];
    case 'named':
      return ['ip', ['-n', ref.name, ...args]];
    case 'path':
      return ['nsenter', [`--net=${ref.path}`, 'ip', ...args]];
  }
}

/** All links of a namespace, or only the one named `dev` ([] when it does not exist) (spawns one `ip`). */
export async function listLinksIn(ref: NetnsRef, dev?: string): Promise<LinkInfo[]> {
  const [cmd, args] = ipArgs(ref, ['-json', '-d', 'link', 'show', ...(dev === undefined ? [] : ['dev', dev])]);
  let out: string;
  try {
    out = (await execFileP(cmd, args, { maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const text = (err as { stderr?: string }).stderr?.trim() || String(err);
    if (dev !== undefined && /does not exist|Cannot find device/i.test(text)) return [];
    throw new FailedPreconditionError(`cannot list links in ${describeNetns(ref)}: ${text}`);
  }
  const raw = JSON.parse(out || '[]') as RawLink[];
  return raw.map((l) => {
    const info: LinkInfo = { name: l.ifname, index: l.ifindex, mtu: l.mtu, up: (l.flags ?? []).includes('UP') };
    if (l.ifalias) info.alias = l.ifalias;
    if (l.linkinfo?.info_kind) info.kind = l.linkinfo.info_kind;
    if (l.master) info.master = l.master;
    const vx = l.linkinfo?.info_kind === 'vxlan' ? l.linkinfo.info_data : undefined;
    if (vx?.id !== undefined) info.vni = vx.id;
    if (vx?.local) info.local = vx.local;
    if (vx?.remote) info.remote = vx.remote;
    return info;
  });
}

/** Write /proc/sys/<path> inside a namespace (spawns nsenter unless it is the host namespace). */
export async function writeSysctlIn(ref: NetnsRef, path: string, value: string): Promise<void> {
  try {
    if (ref.kind === 'host') {
      await writeFile(`/proc/sys/${path}`, value);
      return;
    }
    await execFileP('nsenter', [`--net=${netnsPath(ref)}`, 'sh', '-c', 'printf %s "$1" > "/proc/sys/$2"', 'sh', value, path]);
  } catch (err) {
    const text = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new FailedPreconditionError(`cannot set sysctl ${path}=${value} in ${describeNetns(ref)}: ${text}`);
  }
}
