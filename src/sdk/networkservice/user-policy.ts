// user-policy: asks the user's policy engine (Cedar, --policy FILE) whether the caller
// may Request or Close a connection to a network service; a denial is PERMISSION_DENIED
// naming the policy file and the policies that decided. Background events are not checked.
import type { Connection } from '../../api/index.js';
import { PermissionDeniedError } from '../../api/errors.js';
import { isBackgroundEvent } from '../core/begin.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import type { Ctx } from '../core/ctx.js';
import type { PolicyAction, PolicyEngine, PolicyQuery } from '../tools/policy.js';

/** The query for one call: the caller's SPIFFE ID (else the path's first segment name) asks for the connection's service. */
export function connectionQuery(conn: Connection, ctx: Ctx, action: PolicyAction, hop: string): PolicyQuery {
  const client = conn.path?.pathSegments[0]?.name ?? '';
  return {
    principal: { id: ctx.incoming.peer?.spiffeId ?? client, labels: { ...conn.labels } },
    action,
    resource: { service: conn.networkService, labels: {} },
    context: { hop, client },
  };
}

/** Throws PermissionDeniedError when `engine` does not allow `q`. */
export function enforce(engine: PolicyEngine, q: PolicyQuery, what: string): void {
  const d = engine.decide(q);
  if (d.allowed) return;
  const by = d.policies.length > 0 ? `policy ${d.policies.map((p) => `"${p}"`).join(', ')}` : 'no permitting policy';
  const errors = d.errors.length > 0 ? ` (errors: ${d.errors.join('; ')})` : '';
  throw new PermissionDeniedError(`user-policy: ${engine.source}: ${q.action} of ${what} by "${q.principal.id}" denied by ${by}${errors}`);
}

export function userPolicy(engine: PolicyEngine, hop: string): NetworkServiceElement {
  const check = (conn: Connection, ctx: Ctx, action: PolicyAction) => {
    if (!isBackgroundEvent(ctx)) enforce(engine, connectionQuery(conn, ctx, action, hop), `service "${conn.networkService}"`);
  };
  return element({
    async request(req, ctx, next) {
      check(req.connection!, ctx, 'Request');
      return next.request(req, ctx);
    },
    async close(conn, ctx, next) {
      check(conn, ctx, 'Close');
      return next.close(conn, ctx);
    },
  });
}
