// User policies on Cedar (@cedar-policy/cedar-wasm): loads a policy file and answers
// PolicyQuery's. Principal `Identity::"<id>"` with attribute `labels`, action
// `Action::"Request" | "Close" | "Register" | "Unregister"`, resource `NetworkService::"<name>"`
// with attributes `name` and `labels`; context carries `hop` and `client`.
import { readFileSync } from 'node:fs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicyDecision, PolicyEngine, PolicyQuery } from '../sdk/tools/policy.js';

const ID_RE = /^\s*@id\(\s*"((?:[^"\\]|\\.)*)"\s*\)/m;

/** Splits a policy set into policies named by their `@id` annotation (else `policy<N>`, counted from 1). */
function namedPolicies(text: string, source: string): Record<string, string> {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error(`${source}: ${parts.errors.map((e) => e.message).join('; ')}`);
  const out: Record<string, string> = {};
  parts.policies.forEach((p, i) => {
    const id = ID_RE.exec(p)?.[1] ?? `policy${i + 1}`;
    if (out[id] !== undefined) throw new Error(`${source}: two policies are named "${id}"`);
    out[id] = p;
  });
  const parsed = cedar.checkParsePolicySet({ staticPolicies: out });
  if (parsed.type !== 'success') throw new Error(`${source}: ${parsed.errors.map((e) => e.message).join('; ')}`);
  return out;
}

/** An engine for the policies in `text` (`source` names them in messages); throws on a policy that does not parse. */
export function cedarPolicyEngine(text: string, source = 'policy'): PolicyEngine {
  const policies = namedPolicies(text, source);
  return {
    source,
    decide(q: PolicyQuery): PolicyDecision {
      const principal = { type: 'Identity', id: q.principal.id };
      const resource = { type: 'NetworkService', id: q.resource.service };
      const answer = cedar.isAuthorized({
        principal,
        action: { type: 'Action', id: q.action },
        resource,
        context: q.context,
        policies: { staticPolicies: policies },
        entities: [
          { uid: principal, attrs: { labels: q.principal.labels }, parents: [] },
          { uid: resource, attrs: { name: q.resource.service, labels: q.resource.labels }, parents: [] },
        ],
      });
      if (answer.type !== 'success') return { allowed: false, policies: [], errors: answer.errors.map((e) => e.message) };
      const { decision, diagnostics } = answer.response;
      return { allowed: decision === 'allow', policies: diagnostics.reason, errors: diagnostics.errors.map((e) => e.error.message) };
    },
  };
}

/** Loads a policy file; a missing or malformed file throws an Error naming it. */
export function loadCedarPolicyFile(path: string): PolicyEngine {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`policy file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return cedarPolicyEngine(text, path);
}
