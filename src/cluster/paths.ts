// Where a mesh keeps its files: /run/nsm/<name>/ (state.json, logs/, sock/); NSM_RUN_ROOT overrides the root.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function runRoot(): string {
  return process.env.NSM_RUN_ROOT ?? '/run/nsm';
}

export interface MeshPaths {
  runDir: string;
  stateFile: string;
  logDir: string;
  sockDir: string;
}

export function meshPaths(name: string): MeshPaths {
  const runDir = join(runRoot(), name);
  return { runDir, stateFile: join(runDir, 'state.json'), logDir: join(runDir, 'logs'), sockDir: join(runDir, 'sock') };
}

/** How README, examples and the CLI's own hints run the CLI (in a clone of the repository, as root). */
export const NSM_CMD = 'npx nsm';

/** The `nsm` entry point (bin/nsm.js), from src/cluster or dist/cluster alike. */
export const NSM_BIN = fileURLToPath(new URL('../../bin/nsm.js', import.meta.url));
