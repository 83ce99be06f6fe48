// The --netns and --container flags: a namespace name, a path, or a file:// / inode:// URL, as a mechanism inodeURL.
import { existsSync } from 'node:fs';
import { containerNetnsPath } from '../platforms/podman/podman.js';
import { InvalidArgumentError } from './cli-error.js';

export function netnsUrlArg(value: string): string {
  if (value.startsWith('inode://')) return value;
  const path = value.startsWith('file://') ? value.slice('file://'.length) : value.includes('/') ? value : `/var/run/netns/${value}`;
  if (!existsSync(path)) throw new InvalidArgumentError(`network namespace "${value}" does not exist (${path})`);
  return `file://${path}`;
}

/** The --container flag: a running podman container's namespace (podman inspect -> pid -> /proc/PID/ns/net). */
export async function containerNetnsUrl(name: string): Promise<string> {
  try {
    return `file://${await containerNetnsPath(name)}`;
  } catch (err) {
    throw new InvalidArgumentError(`--container: ${err instanceof Error ? err.message : String(err)}`);
  }
}
