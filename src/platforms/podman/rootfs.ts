// The busybox root filesystem podman workloads run from, built by the project from Debian's
// busybox-static (/bin/busybox) and cached under NSM_ROOTFS_DIR (default /var/lib/nsm-ts/rootfs/busybox).
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const APPLETS = ['sh', 'ping', 'ping6', 'sleep', 'ip', 'ifconfig', 'ls', 'cat', 'echo', 'true', 'hostname', 'nc', 'wget'];
const STAMP = '.nsm-ts-rootfs';

export function defaultRootfsDir(): string {
  return process.env.NSM_ROOTFS_DIR ?? '/var/lib/nsm-ts/rootfs/busybox';
}

/** The busybox binary to copy: statically linked (busybox-static), so the rootfs needs no libraries. */
export function busyboxBinary(): string {
  return process.env.NSM_BUSYBOX ?? '/bin/busybox';
}

/**
 * Returns a ready root filesystem directory, building it when missing or built from another busybox
 * (the stamp records the binary's size and mtime). Built in a temporary directory and renamed into place,
 * so concurrent callers never see half a tree.
 */
export async function ensureBusyboxRootfs(dir = defaultRootfsDir()): Promise<string> {
  const bin = busyboxBinary();
  const st = await stat(bin).catch(() => undefined);
  if (!st) throw new Error(`podman workloads need a static busybox at ${bin} (Debian: apt-get install busybox-static)`);
  const want = `${bin} ${st.size} ${st.mtimeMs}`;
  const have = await readFile(join(dir, STAMP), 'utf8').catch(() => '');
  if (have === want) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'run', 'var']) await mkdir(join(tmp, d), { recursive: true });
  await copyFile(bin, join(tmp, 'bin/busybox'));
  for (const a of APPLETS) await symlink('busybox', join(tmp, 'bin', a));
  // Mount points podman binds over; present so podman never writes into the shared tree.
  for (const f of ['hostname', 'hosts', 'resolv.conf']) await writeFile(join(tmp, 'etc', f), '');
  await writeFile(join(tmp, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  await writeFile(join(tmp, 'etc/group'), 'root:x:0:\n');
  await writeFile(join(tmp, STAMP), want);
  await mkdir(dirname(dir), { recursive: true });
  if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir).catch(async (err) => {
    await rm(tmp, { recursive: true, force: true });
    // Another process built it at the same moment: fine when its stamp matches.
    if ((await readFile(join(dir, STAMP), 'utf8').catch(() => '')) !== want) throw err;
  });
  return dir;
}
