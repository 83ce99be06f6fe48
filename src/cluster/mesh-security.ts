// `security: { mtls: true }` in a scenario: the mesh's CA and every component's SVID files in
// <runDir>/security/ (keys 0600), the identity flags each component gets, the rotation of all SVIDs
// at half their lifetime (by whoever supervises the mesh), and an identity for the CLI's own calls.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createCa, installIdentity, IdentityProvider, issueSvid, loadCa, spiffeId, type LoadedCa, type SpiffeKind } from '../security/index.js';
import type { ComponentKind, ComponentPlan, MeshPlan, MeshSecurityPlan } from './mesh-plan.js';

/** The SPIFFE kind of each component kind (etcd gets none: it is reached over loopback by the registry only). */
const KIND: Partial<Record<ComponentKind, SpiffeKind>> = { registry: 'registry', nsmgr: 'nsmgr', 'nsmgr-proxy': 'nsmgr', forwarder: 'forwarder', endpoint: 'nse', client: 'nsc' };
/** The identity `nsm` itself uses towards a secure mesh (service registration, get, describe). */
export const ADMIN_NAME = 'nsm-admin';
export const DEFAULT_SVID_LIFETIME_MS = 3600_000;

export function identityFiles(sec: MeshSecurityPlan, name: string): { trustBundle: string; svidCert: string; svidKey: string } {
  return { trustBundle: join(sec.dir, 'bundle.pem'), svidCert: join(sec.dir, `${name}.pem`), svidKey: join(sec.dir, `${name}-key.pem`) };
}

/** `--trust-bundle F --svid-cert F --svid-key F` for a component (or the admin identity). */
export function identityArgs(sec: MeshSecurityPlan, name: string): string[] {
  const f = identityFiles(sec, name);
  return ['--trust-bundle', f.trustBundle, '--svid-cert', f.svidCert, '--svid-key', f.svidKey];
}

/** Gives the plan its security section and every component its SPIFFE ID and identity flags. */
export function planSecurity(plan: MeshPlan, opts: { trustDomain?: string | undefined; svidLifetimeMs?: number | undefined }): void {
  const sec: MeshSecurityPlan = { trustDomain: opts.trustDomain ?? `${plan.name.toLowerCase()}.nsm`, dir: join(plan.runDir, 'security'), svidLifetimeMs: opts.svidLifetimeMs ?? DEFAULT_SVID_LIFETIME_MS };
  plan.security = sec;
  for (const c of plan.components) {
    const kind = KIND[c.kind];
    if (!kind) continue;
    c.spiffeId = spiffeId(sec.trustDomain, kind, c.name);
    c.args.push(...identityArgs(sec, c.name));
  }
}

async function writeSecret(path: string, text: string): Promise<void> {
  // Written aside and renamed: a component polling the file never reads half of it.
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

async function meshCa(sec: MeshSecurityPlan): Promise<LoadedCa> {
  const certPath = join(sec.dir, 'ca.pem');
  const keyPath = join(sec.dir, 'ca-key.pem');
  if (!existsSync(certPath)) {
    await mkdir(sec.dir, { recursive: true, mode: 0o700 });
    const ca = await createCa(sec.trustDomain);
    await writeSecret(keyPath, ca.keyPem);
    await writeSecret(certPath, ca.certPem);
    await writeSecret(join(sec.dir, 'bundle.pem'), ca.certPem);
  }
  return loadCa({ trustDomain: sec.trustDomain, certPem: await readFile(certPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8') });
}

/** Issues (or re-issues) the SVID files of every component and of the admin identity; creates the CA first if needed. */
export async function issueMeshSvids(plan: MeshPlan): Promise<void> {
  const sec = plan.security;
  if (!sec) return;
  const ca = await meshCa(sec);
  const subjects: [string, string][] = plan.components.filter((c): c is ComponentPlan & { spiffeId: string } => !!c.spiffeId).map((c) => [c.name, c.spiffeId]);
  subjects.push([ADMIN_NAME, spiffeId(sec.trustDomain, 'admin', ADMIN_NAME)]);
  for (const [name, id] of subjects) {
    const svid = await issueSvid(ca, id, sec.svidLifetimeMs);
    const f = identityFiles(sec, name);
    // Key first, then certificate: a reader that sees the new certificate with the old key retries at its next poll.
    await writeSecret(f.svidKey, svid.keyPem);
    await writeSecret(f.svidCert, svid.certPem);
  }
}

/**
 * Re-issues every SVID at half its lifetime until stopped; `now` also once at the start (a supervisor
 * taking over from `nsm up` does not know how old the files are).
 */
export function startSvidRotation(plan: MeshPlan, log: Logger, now = false): () => void {
  const sec = plan.security;
  if (!sec) return () => {};
  const rotate = () => {
    issueMeshSvids(plan).then(
      () => log.info({ mesh: plan.name, lifetimeMs: sec.svidLifetimeMs }, 'SVIDs rotated'),
      (err: unknown) => log.error({ err }, 'SVID rotation failed'),
    );
  };
  if (now) rotate();
  const timer = setInterval(rotate, Math.max(1000, sec.svidLifetimeMs / 2));
  timer.unref();
  return () => clearInterval(timer);
}

/** Turns mTLS on for this CLI process with the mesh's admin SVID (for `get`, `describe`). */
export async function useMeshIdentity(plan: MeshPlan): Promise<void> {
  const sec = plan.security;
  if (!sec) return;
  const f = identityFiles(sec, ADMIN_NAME);
  const [certPem, keyPem, bundlePem] = await Promise.all([readFile(f.svidCert, 'utf8'), readFile(f.svidKey, 'utf8'), readFile(f.trustBundle, 'utf8')]);
  installIdentity(new IdentityProvider({ certPem, keyPem, bundlePem }));
}
