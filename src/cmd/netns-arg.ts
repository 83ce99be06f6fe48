// The --netns flag: a namespace name, a path, or a file:// / inode:// URL, as a mechanism inodeURL.
import { existsSync } from 'node:fs';
import { InvalidArgumentError } from './cli-error.js';

export function netnsUrlArg(value: string): string {
  if (value.startsWith('inode://')) return value;
  const path = value.startsWith('file://') ? value.slice('file://'.length) : value.includes('/') ? value : `/var/run/netns/${value}`;
  if (!existsSync(path)) throw new InvalidArgumentError(`network namespace "${value}" does not exist (${path})`);
  return `file://${path}`;
}
