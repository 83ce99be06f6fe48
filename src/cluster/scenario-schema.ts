// The zod schema of a scenario file (DESIGN section 9): shapes and field types only;
// cross-field rules (names, nodes, CIDRs) live in scenario-checks.ts.
import { z } from 'zod';

const name = z.string().min(1);
const labels = z.record(z.string(), z.string());
/** Where a workload runs: a bare namespace (default) or a podman container in that namespace. */
const runtime = z.enum(['netns', 'podman']).optional();

const route = z.strictObject({
  destination_selector: labels.optional(),
  weight: z.number().int().nonnegative().optional(),
});

const match = z.strictObject({
  source_selector: labels.optional(),
  routes: z.array(route).optional(),
  fallthrough: z.boolean().optional(),
  metadata: z.strictObject({ labels: labels.optional() }).optional(),
});

export const serviceSchema = z.strictObject({
  name,
  payload: z.enum(['ETHERNET', 'IP']).optional(),
  matches: z.array(match).optional(),
});

export const endpointSchema = z.strictObject({
  name,
  node: name,
  kind: z.enum(['icmp-responder', 'passthrough']),
  services: z.array(name),
  /** Required for icmp-responder; a passthrough hands out its onward connection's addresses. */
  cidr: z.string().optional(),
  labels: labels.optional(),
  runtime,
});

export const clientSchema = z.strictObject({
  name,
  node: name,
  runtime,
  requests: z.array(z.string()).min(1),
});

export const scenarioSchema = z.strictObject({
  name,
  nodes: z.array(name).min(1),
  registry: z
    .strictObject({ backend: z.enum(['memory', 'etcd']), endpoints: z.array(z.string()).optional() })
    .optional(),
  services: z.array(serviceSchema).optional(),
  endpoints: z.array(endpointSchema).optional(),
  clients: z.array(clientSchema).optional(),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioEndpoint = z.infer<typeof endpointSchema>;
export type ScenarioClient = z.infer<typeof clientSchema>;
