// Places the `nsm-cni` executable into a CNI bin directory (e.g. /opt/cni/bin): a small shell script
// that runs this installation's plugin with this node binary (runtimes call plugins with a bare env).
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/nsm-cni.js of this installation (from src/ or dist/ alike). */
export const PLUGIN_BIN = fileURLToPath(new URL('../../../bin/nsm-cni.js', import.meta.url));

export function pluginScript(nodePath = process.execPath, pluginBin = PLUGIN_BIN): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n# nsm-cni: Network Service Mesh CNI plugin (nsm-ts); written by \`nsm cni install\`.\nexec ${q(nodePath)} ${q(pluginBin)} "$@"\n`;
}

/** Writes DIR/NAME atomically with mode 0755; returns its path. */
export async function installPlugin(dir: string, name = 'nsm-cni'): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  const tmp = `${target}.tmp-${process.pid}`;
  await writeFile(tmp, pluginScript());
  await chmod(tmp, 0o755);
  await rename(tmp, target);
  return target;
}
