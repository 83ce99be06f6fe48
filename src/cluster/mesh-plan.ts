// The shape of a mesh plan (what `nsm up` runs where), apart from the planner so that
// the modules that run a plan (proc, state, etcd) do not import the planner back.
import type { MeshPaths } from './paths.js';
import type { ServiceSpec } from './service-spec.js';

export type ComponentKind = 'etcd' | 'registry' | 'nsmgr-proxy' | 'nsmgr' | 'forwarder' | 'endpoint' | 'client' | 'vm';

export interface ComponentPlan {
  name: string;
  kind: ComponentKind;
  node?: string;
  /** Namespace the process runs in. */
  netns: string;
  /** The workload's own namespace (endpoint, client). */
  workloadNetns?: string;
  url: string;
  /** Program to run instead of `node bin/nsm.js` (the local etcd). */
  exec?: string;
  args: string[];
  /** Where it serves Prometheus metrics (http://IP:PORT/metrics on its namespace's underlay address). */
  metricsUrl?: string;
  /** Its SPIFFE ID when the mesh runs mTLS (scenario `security: { mtls: true }`). */
  spiffeId?: string;
}

/** mTLS of a mesh (scenario `security: { mtls: true }`). */
export interface MeshSecurityPlan {
  trustDomain: string;
  /** <runDir>/security: CA, bundle and every SVID (keys 0600). */
  dir: string;
  svidLifetimeMs: number;
}

export interface NodePlan {
  name: string;
  netns: string;
  /** Underlay address (no prefix). */
  ip: string;
  /** IPv6 underlay address (no prefix) when the scenario asks for `underlay: ipv6`: VXLAN runs over it. */
  ip6?: string;
  /** The forwarder's remote mechanisms in priority order (scenario `remote_mechanisms`; default: all). */
  remoteMechanisms?: string[];
  /** Interface names: `ul` in the node namespace, `<peer>` on the bridge. */
  peer: string;
}

export interface WorkloadPlan {
  name: string;
  kind: 'endpoint' | 'client';
  /** For endpoints: icmp-responder, passthrough, ... */
  endpointKind?: string;
  node: string;
  netns: string;
  /** netns (absent: the default), podman, dpdk or vm. */
  runtime?: 'netns' | 'podman' | 'dpdk' | 'vm';
  /** The podman container holding the workload's namespace. */
  container?: string;
  /** runtime vm: the VM's tag (qemu -name), its component (`nsm vm`) and serial console log. */
  vm?: { tag: string; component: string; console: string };
}

export interface ClientRequestPlan {
  client: string;
  service: string;
  ifname: string;
}

export interface MeshPlan extends MeshPaths {
  name: string;
  file: string;
  underlayNetns: string;
  bridge: string;
  registryIp: string;
  underlayPrefix: number;
  nodes: NodePlan[];
  workloads: WorkloadPlan[];
  components: ComponentPlan[];
  requests: ClientRequestPlan[];
  /** NetworkServices `nsm up` registers once the registry is up (name, payload, matches). */
  services?: ServiceSpec[];
  /** mTLS: trust domain, SVID files and lifetime (absent: plain text). */
  security?: MeshSecurityPlan;
  /** Interdomain scenarios: the main domain first, then the others, each with its registry. */
  domains?: DomainPlan[];
}

export interface DomainPlan {
  name: string;
  /** tcp:// URL of its registry (in the underlay namespace). */
  registry: string;
  nodes: string[];
  /** A registry shared by domains (endpoints register `svc@<this>` through their own nsmgr). */
  floating?: boolean;
  /** tcp:// URL of its nsmgr-proxy (domains with nodes). */
  proxy?: string;
}
