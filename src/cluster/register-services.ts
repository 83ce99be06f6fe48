// `nsm up` registers the scenario's NetworkServices (with their matches) once the
// registry is up, by running `nsm ns register` in the underlay namespace (where the
// registry listens).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NSM_BIN } from './paths.js';
import type { MeshPlan } from './mesh-plan.js';
import { ADMIN_NAME, identityArgs } from './mesh-security.js';

const execFileP = promisify(execFile);

/** The `ip netns exec ... nsm ns register ...` argv for one service of the plan. */
export function registerServiceArgs(plan: MeshPlan, svc: NonNullable<MeshPlan['services']>[number]): string[] {
  return [
    'netns', 'exec', plan.underlayNetns, process.execPath, NSM_BIN, 'ns', 'register',
    '--registry', `tcp://${plan.registryIp}:5001`, '--name', svc.name,
    ...(svc.payload ? ['--payload', svc.payload] : []),
    '--matches', JSON.stringify(svc.matches ?? []),
    ...(plan.security ? identityArgs(plan.security, ADMIN_NAME) : []),
  ];
}

export async function registerServices(plan: MeshPlan, progress: (line: string) => void): Promise<void> {
  for (const svc of plan.services ?? []) {
    try {
      await execFileP('ip', registerServiceArgs(plan, svc), { timeout: 60_000 });
    } catch (err) {
      const text = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
      throw new Error(`cannot register network service "${svc.name}": ${text}`, { cause: err });
    }
    progress(`service   ${svc.name} registered${svc.matches?.length ? ` with ${svc.matches.length} match(es)` : ''}`);
  }
}
