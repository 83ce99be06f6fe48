// namespace-ownership (nsmgr): a client may only have its interface put in a network
// namespace it is entitled to. A namespace proven by the transport (the caller's process,
// from unix socket credentials, lives in it) is always fine. When the transport tells the
// caller's process and that process could not enter other namespaces itself (no CAP_SYS_ADMIN),
// only its own namespace is accepted; otherwise the node's own namespaces (the nsmgr's and
// pid 1's) are refused (`requireProof` refuses every unproven namespace).
import type { NetworkServiceRequest } from '../../api/index.js';
import { PermissionDeniedError } from '../../api/errors.js';
import { isBackgroundEvent } from '../core/begin.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import type { Ctx } from '../core/ctx.js';
import { P } from '../tools/mechanisms.js';

/** What the element needs to know about namespaces (the component wires the kernel's answers). */
export interface NamespaceFacts {
  /** The identity ("DEV:INO") of the namespace an inodeURL names; throws when it names none. */
  idOf(inodeUrl: string): Promise<string>;
  /** Namespaces no client gets without proof: the node's (this process's) and pid 1's. */
  protectedIds(): Promise<string[]>;
  /** The namespace of a process, if it can be read. */
  idOfPid(pid: number): Promise<string | undefined>;
  /** Whether a process may enter any namespace itself (CAP_SYS_ADMIN): refusing it another protects nothing. */
  privileged(pid: number): Promise<boolean>;
}

export interface NamespaceOwnershipOptions {
  /** Refuse every namespace the caller has not proven its own (default: when the transport gave the caller's pid). */
  requireProof?: boolean;
}

const CHECK = 'namespace-ownership';

function inodeUrls(req: NetworkServiceRequest): string[] {
  const mechs = [...req.mechanismPreferences, ...(req.connection?.mechanism ? [req.connection.mechanism] : [])];
  return [...new Set(mechs.map((m) => m.parameters[P.inodeURL]).filter((u): u is string => u !== undefined))];
}

async function check(req: NetworkServiceRequest, ctx: Ctx, facts: NamespaceFacts, opts: NamespaceOwnershipOptions): Promise<void> {
  const urls = inodeUrls(req);
  if (urls.length === 0) return;
  const peer = ctx.incoming.peer;
  const callerNs = peer?.pid !== undefined ? await facts.idOfPid(peer.pid) : undefined;
  // Asked only for a namespace that is not the caller's own (the common case, a client's own namespace, needs neither).
  let requireProof = opts.requireProof;
  let protectedIds: string[] | undefined;
  for (const url of urls) {
    // A URL that names no namespace here is left to the forwarder to refuse (unless proof is required).
    const id = await facts.idOf(url).catch(() => undefined);
    if (id !== undefined && callerNs === id) continue;
    requireProof ??= peer?.pid !== undefined && !(await facts.privileged(peer.pid));
    if (requireProof) throw new PermissionDeniedError(`${CHECK}: mechanism parameter inodeURL "${url}" is not the caller's network namespace${peer?.pid !== undefined ? ` (pid ${peer.pid}, uid ${peer.uid ?? '?'}, without CAP_SYS_ADMIN, lives in another)` : ''}`);
    protectedIds ??= await facts.protectedIds();
    if (id !== undefined && protectedIds.includes(id)) throw new PermissionDeniedError(`${CHECK}: inodeURL "${url}" is the node's own network namespace`);
  }
}

export function namespaceOwnership(facts: NamespaceFacts, opts: NamespaceOwnershipOptions = {}): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      if (!isBackgroundEvent(ctx)) await check(req, ctx, facts, opts);
      return next.request(req, ctx);
    },
  });
}
