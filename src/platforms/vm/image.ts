// The VM image (kernel + initramfs), built by the project on first use and cached under
// NSM_VM_CACHE (default /var/cache/nsm-ts/vm): Debian's linux-image kernel and its virtio modules
// (fetched with `apt-get download`, unpacked with dpkg-deb, never installed) and an initramfs holding
// the static busybox, those modules and the project's /init. Built in temporary paths and renamed into place.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cpioNewc, type CpioEntry } from './cpio.js';
import { GUEST_INIT, GUEST_MODULES } from './guest-init.js';

const execFileP = promisify(execFile);

export interface VmImage {
  kernel: string;
  initrd: string;
  /** The Debian kernel package it came from. */
  kernelPackage: string;
}

export const vmCacheDir = () => process.env.NSM_VM_CACHE ?? '/var/cache/nsm-ts/vm';
const busyboxBinary = () => process.env.NSM_BUSYBOX ?? '/bin/busybox';

/** The versioned kernel package Debian's linux-image-amd64 depends on (or NSM_VM_KERNEL_PKG). */
async function kernelPackage(): Promise<string> {
  if (process.env.NSM_VM_KERNEL_PKG) return process.env.NSM_VM_KERNEL_PKG;
  const { stdout } = await execFileP('apt-cache', ['depends', 'linux-image-amd64']).catch((err: unknown) => {
    throw new Error(`cannot resolve the VM kernel package (apt-cache depends linux-image-amd64): ${String(err)}`, { cause: err });
  });
  const m = /Depends:\s+(linux-image-[0-9][^\s]*)/.exec(stdout);
  if (!m) throw new Error('apt-cache names no versioned package for linux-image-amd64; set NSM_VM_KERNEL_PKG');
  return m[1]!;
}

/** vmlinuz and the modules of GUEST_MODULES in `<cache>/kernel/`, downloaded once. */
async function ensureKernel(cache: string): Promise<{ dir: string; pkg: string }> {
  const dir = join(cache, 'kernel');
  const stampFile = join(dir, 'package');
  const pkg = await readFile(stampFile, 'utf8').catch(() => '');
  if (pkg && existsSync(join(dir, 'vmlinuz'))) return { dir, pkg: pkg.trim() };
  const want = await kernelPackage();
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'x'), { recursive: true });
  try {
    await execFileP('apt-get', ['download', '-qq', want], { cwd: tmp, timeout: 300_000 });
    const deb = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${want} left no .deb`);
    // Only the kernel and the virtio/failover modules (drivers/virtio, drivers/net, net/core).
    await execFileP('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -x -C "$1" --wildcards "./boot/vmlinuz-*" "*/virtio*.ko" "*/failover.ko" "*/net_failover.ko"', join(tmp, deb), join(tmp, 'x')], { timeout: 300_000, maxBuffer: 1 << 20 });
    const boot = await readdir(join(tmp, 'x', 'boot'));
    const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error(`${deb} has no /boot/vmlinuz-*`);
    await copyFile(join(tmp, 'x', 'boot', vmlinuz), join(tmp, 'vmlinuz'));
    const kos = await findFiles(join(tmp, 'x', 'lib'), (f) => f.endsWith('.ko'));
    await mkdir(join(tmp, 'modules'));
    for (const m of GUEST_MODULES) {
      const ko = kos.find((f) => f.endsWith(`/${m}.ko`));
      if (!ko) throw new Error(`${deb} has no ${m}.ko`);
      await copyFile(ko, join(tmp, 'modules', `${m}.ko`));
    }
    await rm(join(tmp, 'x'), { recursive: true, force: true });
    await rm(join(tmp, deb), { force: true });
    await writeFile(join(tmp, 'package'), `${want}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return { dir, pkg: want };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function findFiles(dir: string, ok: (f: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await findFiles(p, ok)));
    else if (ok(p)) out.push(p);
  }
  return out;
}

/** The initramfs entries: busybox, /init, the modules, /dev/console. */
async function initramfsEntries(kernelDir: string): Promise<CpioEntry[]> {
  const entries: CpioEntry[] = ['bin', 'dev', 'proc', 'sys', 'tmp', 'lib', 'lib/modules'].map((path) => ({ kind: 'dir' as const, path }));
  entries.push({ kind: 'chardev', path: 'dev/console', major: 5, minor: 1 });
  entries.push({ kind: 'file', path: 'bin/busybox', data: await readFile(busyboxBinary()), mode: 0o755 });
  entries.push({ kind: 'file', path: 'init', data: GUEST_INIT, mode: 0o755 });
  for (const m of GUEST_MODULES) entries.push({ kind: 'file', path: `lib/modules/${m}.ko`, data: await readFile(join(kernelDir, 'modules', `${m}.ko`)) });
  return entries;
}

/**
 * Kernel and initramfs ready to boot: the kernel is fetched once; the initramfs is rebuilt when the
 * busybox binary or /init changed (its file name carries a hash of both).
 */
export async function ensureVmImage(cache = vmCacheDir()): Promise<VmImage> {
  const bb = await stat(busyboxBinary()).catch(() => undefined);
  if (!bb) throw new Error(`VM workloads need a static busybox at ${busyboxBinary()} (Debian: apt-get install busybox-static)`);
  await mkdir(cache, { recursive: true });
  const k = await ensureKernel(cache);
  const stamp = createHash('sha256').update(`${k.pkg} ${bb.size} ${bb.mtimeMs} ${GUEST_INIT}`).digest('hex');
  // Named by its stamp: checkouts with different /init scripts share the cache without rewriting each other's image.
  const initrd = join(cache, `initramfs-${stamp.slice(0, 12)}.cpio`);
  if (!existsSync(initrd)) {
    const tmp = `${initrd}.tmp-${process.pid}`;
    await writeFile(tmp, cpioNewc(await initramfsEntries(k.dir)));
    await rename(tmp, initrd);
  }
  return { kernel: join(k.dir, 'vmlinuz'), initrd, kernelPackage: k.pkg };
}
