// Scenario lints that do not stop `nsm up` but are almost surely mistakes: a service match whose
// routes can select none of the scenario's endpoints of that service, and a request's `?endpoint=`
// naming no endpoint that offers the service. Found before anything is built.
import { parseServiceUrl } from '../components/service-url.js';
import { selectorMatches } from '../sdk/tools/select-endpoints.js';
import type { CheckProblem } from './scenario-checks.js';
import type { Scenario, ScenarioEndpoint } from './scenario-schema.js';

const TEMPLATE = /\{\{/;

/** A destination selector that may match `labels` (a templated value depends on the client: assume it can). */
function mayMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const fixed = Object.fromEntries(Object.entries(selector).filter(([, v]) => !TEMPLATE.test(v)));
  return selectorMatches(fixed, labels, {});
}

export function scenarioWarnings(s: Scenario): CheckProblem[] {
  const out: CheckProblem[] = [];
  const endpoints = s.endpoints ?? [];
  const offering = (service: string): ScenarioEndpoint[] => endpoints.filter((e) => e.services.includes(service));

  (s.services ?? []).forEach((svc, i) => {
    const mine = offering(svc.name);
    if (mine.length === 0) return;
    (svc.matches ?? []).forEach((m, j) => {
      const routes = m.routes ?? [];
      if (routes.length === 0) return; // no routes: every endpoint of the service
      const hit = routes.some((r) => mine.some((e) => mayMatch(r.destination_selector ?? {}, e.labels ?? {})));
      if (!hit) {
        const what = routes.map((r) => JSON.stringify(r.destination_selector ?? {})).join(', ');
        const then = m.fallthrough ? 'it always falls through' : 'a client it applies to gets no endpoint';
        out.push({
          path: ['services', i, 'matches', j],
          message: `can never select an endpoint: no endpoint of service "${svc.name}" (${mine.map((e) => e.name).join(', ')}) has labels matching ${what}; ${then}`,
        });
      }
    });
  });

  (s.clients ?? []).forEach((c, i) => {
    c.requests.forEach((r, j) => {
      let spec;
      try {
        spec = parseServiceUrl(r);
      } catch {
        return; // an error of its own (scenario-checks)
      }
      if (spec.endpoint === undefined) return;
      const named = endpoints.find((e) => e.name === spec.endpoint);
      const message = !named
        ? `?endpoint=${spec.endpoint} names no endpoint of this scenario (endpoints: ${endpoints.map((e) => e.name).join(', ') || 'none'})`
        : !named.services.includes(spec.service)
          ? `?endpoint=${spec.endpoint}: that endpoint does not offer service "${spec.service}" (it offers ${named.services.join(', ')})`
          : undefined;
      if (message) out.push({ path: ['clients', i, 'requests', j], message });
    });
  });
  return out;
}
