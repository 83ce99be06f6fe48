// The contract between the authorization elements and a user policy engine
// (src/security/cedar-policy.ts): who asks to do what to which network service.

export type PolicyAction = 'Request' | 'Close' | 'Register' | 'Unregister';

export interface PolicyQuery {
  /** The caller: its SPIFFE ID with security on, else the name it gave (first path segment, endpoint name). */
  principal: { id: string; labels: Record<string, string> };
  action: PolicyAction;
  resource: { service: string; labels: Record<string, string> };
  /** Extra facts (e.g. `hop`: the component deciding, `client`: the path's first segment). */
  context: Record<string, string>;
}

export interface PolicyDecision {
  allowed: boolean;
  /** The policies that decided (ids: a policy's `@id` annotation, else its position). */
  policies: string[];
  /** Evaluation errors, if any (a policy that errors does not apply). */
  errors: string[];
}

export interface PolicyEngine {
  /** Where the policies came from (a file name), for messages. */
  readonly source: string;
  decide(query: PolicyQuery): PolicyDecision;
}
