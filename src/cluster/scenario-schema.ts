// The zod schema of a scenario file (README: Scenario files): shapes and field types only;
// cross-field rules (names, nodes, CIDRs) live in scenario-checks.ts.
import { z } from 'zod';

const name = z.string().min(1);
const labels = z.record(z.string(), z.string());
/** Where a workload runs: a bare namespace (default), a podman container in that namespace, a DPDK application on memif (dpdk), or a qemu VM whose NIC is the connection (vm: clients, and icmp-responder endpoints whose guest answers on every connection). */
const runtime = z.enum(['netns', 'podman', 'dpdk', 'vm']).optional();

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
  /** SRv6 traffic engineering: nodes its connections' packets pass, in order (needs `underlay: ipv6` and SRV6 negotiated). */
  via: z.array(name).min(1).optional(),
  /** Connections between nodes must use an encrypting mechanism (WIREGUARD, IPSEC): forwarders get --encrypted-services. */
  encrypted: z.boolean().optional(),
});

const endpointSchema = z.strictObject({
  name,
  node: name,
  kind: z.enum(['icmp-responder', 'passthrough', 'vl3', 'macswap']),
  services: z.array(name),
  /**
   * Required for icmp-responder (a comma-separated list of prefixes of either family, or `cidrs`);
   * a passthrough hands out its onward connection's addresses; a vl3 instance takes the whole vL3
   * prefix (one CIDR, the same for every instance of its service) and hands out its own slice of it.
   */
  cidr: z.string().optional(),
  cidrs: z.array(z.string()).min(1).optional(),
  labels: labels.optional(),
  runtime,
});

/** A node: a plain name, or a name with its forwarder's remote mechanisms in priority order. */
export const nodeSchema = z.union([
  name,
  z.strictObject({ name, remote_mechanisms: z.array(name).min(1).optional() }),
]);

const clientSchema = z.strictObject({
  name,
  node: name,
  runtime,
  requests: z.array(z.string()).min(1),
});

/** Interdomain (README: Interdomain): another domain with its own registry and nodes, or a floating registry shared by domains. */
const domainSchema = z.strictObject({
  name,
  nodes: z.array(name).optional(),
  floating: z.boolean().optional(),
});

export const scenarioSchema = z.strictObject({
  name,
  /** Name of the domain of the nodes no `domains` entry lists (default: the scenario name). */
  domain: name.optional(),
  domains: z.array(domainSchema).optional(),
  nodes: z.array(nodeSchema).min(1),
  /** Address family of the node underlay that VXLAN tunnels use (default ipv4; the control plane stays on IPv4). */
  underlay: z.enum(['ipv4', 'ipv6']).optional(),
  registry: z
    .strictObject({
      backend: z.enum(['memory', 'etcd', 'k8s']),
      endpoints: z.array(z.string()).optional(),
      /** k8s: kubeconfig file (relative to the scenario file); its server must be reachable from the underlay namespace. */
      kubeconfig: z.string().optional(),
      /** k8s: namespace of the NSM custom resources (default: the kubeconfig context's, else default). */
      namespace: z.string().optional(),
    })
    .optional(),
  services: z.array(serviceSchema).optional(),
  endpoints: z.array(endpointSchema).optional(),
  clients: z.array(clientSchema).optional(),
  /** A Cedar policy file (relative to the scenario file) given to the registry and every nsmgr as --policy. */
  policy: z.string().min(1).optional(),
  /** Identity and transport security: mTLS with SPIFFE SVIDs on every hop. */
  security: z
    .strictObject({
      mtls: z.boolean(),
      /** SPIFFE trust domain (default `<mesh name>.nsm`). */
      trust_domain: z.string().regex(/^[a-z0-9._-]{1,255}$/, 'lower-case letters, digits, . _ -').optional(),
      /** SVID lifetime in seconds (default 3600); SVIDs are re-issued at half of it. */
      svid_lifetime: z.number().int().min(10).max(30 * 24 * 3600).transform((s) => s * 1000).optional(),
    })
    .optional(),
});

export type Scenario = z.infer<typeof scenarioSchema>;

/** An endpoint's prefixes: `cidrs`, or `cidr` split at commas. */
export function endpointCidrs(e: { cidr?: string | undefined; cidrs?: string[] | undefined }): string[] {
  return e.cidrs ?? (e.cidr ?? '').split(',').map((c) => c.trim()).filter(Boolean);
}
export type ScenarioNode = z.infer<typeof nodeSchema>;
export const nodeName = (n: ScenarioNode): string => (typeof n === 'string' ? n : n.name);
export const nodeRemoteMechanisms = (n: ScenarioNode): string[] | undefined => (typeof n === 'string' ? undefined : n.remote_mechanisms);

export type ScenarioEndpoint = z.infer<typeof endpointSchema>;
export type ScenarioClient = z.infer<typeof clientSchema>;
