// Test helper: a private podman (own CONTAINERS_CONF, storage root, run root, CNI config dir) so tests
// never touch the machine's container setup; containers from the project's busybox root filesystem.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface PrivatePodman {
  dir: string;
  cniConfDir: string;
  run(...args: string[]): Promise<string>;
}

/** A podman whose every file lives under `dir`; CNI backend with plugins from `cniBinDirs`. */
export function privatePodman(dir: string, cniBinDirs: string[]): PrivatePodman {
  const cniConfDir = join(dir, 'cni-conf');
  mkdirSync(cniConfDir, { recursive: true });
  const conf = join(dir, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = [${cniBinDirs.map((d) => JSON.stringify(d)).join(', ')}]`,
      `network_config_dir = ${JSON.stringify(cniConfDir)}`,
      '[engine]',
      'runtime = "runc"',
      'events_logger = "file"',
      `events_logfile_path = ${JSON.stringify(join(dir, 'events.log'))}`,
      '',
    ].join('\n'),
  );
  const base = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs', '--runtime', 'runc'];
  return {
    dir,
    cniConfDir,
    async run(...args: string[]): Promise<string> {
      try {
        const { stdout } = await execFileP('podman', [...base, ...args], { env: { ...process.env, CONTAINERS_CONF: conf }, timeout: 60_000 });
        return stdout;
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(`podman ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
      }
    },
  };
}

/** Ulimits and the capability ping needs (podman's default set lacks NET_RAW). */
export const RUN_FLAGS = ['--cap-add', 'NET_RAW', '--ulimit', 'nofile=10000:10000', '--ulimit', 'nproc=10000:10000'];
