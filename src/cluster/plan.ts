// Turns a validated scenario into a plan: namespaces, underlay addresses, and every component's
// process (where it runs and its `nsm` arguments). Pure: touches nothing.
import { dirname, resolve as resolvePath } from 'node:path';

import { parseServiceUrl } from '../components/service-url.js';
import { containerName } from '../platforms/podman/workloads.js';
import { vmTag } from '../platforms/vm/qemu.js';
import { ETCD_CLIENT_PORT, etcdComponent } from './etcd.js';
import type { ClientRequestPlan, ComponentPlan, DomainPlan, MeshPlan, NodePlan, WorkloadPlan } from './mesh-plan.js';
import { meshPaths } from './paths.js';
import { planSecurity } from './mesh-security.js';
import { endpointCidrs, nodeName, nodeRemoteMechanisms, type Scenario } from './scenario-schema.js';

const UNDERLAY_PREFIX = 15;
const REGISTRY_IP = '198.18.0.254';
/** IPv6 underlay (`underlay: ipv6`): 2001:db8:ff::N/64 for node N. */
export const UNDERLAY6_PREFIX = 64;
export const underlay6Ip = (i: number) => `2001:db8:ff::${(i + 1).toString(16)}`;

export function planMesh(s: Scenario, file: string, nameOverride?: string): MeshPlan {
  const name = nameOverride ?? s.name;
  const paths = meshPaths(name);
  const sock = (c: string) => `unix://${paths.sockDir}/${c}.sock`;
  const ns = (x: string) => `${name}-${x}`;
  const registryUrl = `tcp://${REGISTRY_IP}:5001`;
  const v6 = s.underlay === 'ipv6';
  const nodes: NodePlan[] = s.nodes.map((node, i) => {
    const n = nodeName(node);
    const remote = nodeRemoteMechanisms(node);
    return { name: n, netns: ns(n), ip: `198.18.0.${i + 1}`, ...(v6 ? { ip6: underlay6Ip(i) } : {}), ...(remote ? { remoteMechanisms: remote } : {}), peer: `n${i + 1}` };
  });
  const nodeOf = new Map(nodes.map((n) => [n.name, n]));
  const components: ComponentPlan[] = [];
  const registryArgs = ['registry', '--listen', registryUrl];
  if (s.registry?.backend === 'etcd') {
    // No endpoints: nsm up runs one etcd member next to the registry (underlay namespace).
    const endpoints = s.registry.endpoints ?? [`http://${REGISTRY_IP}:${ETCD_CLIENT_PORT}`];
    if (!s.registry.endpoints) components.push(etcdComponent(name, paths.runDir, ns('ul'), REGISTRY_IP));
    registryArgs.push('--backend', 'etcd', '--etcd-endpoints', endpoints.join(','));
  }
  const policy = s.policy ? ['--policy', resolvePath(dirname(file), s.policy)] : [];
  registryArgs.push(...policy);
  if (s.registry?.backend === 'k8s') {
    registryArgs.push('--backend', 'k8s', '--kubeconfig', resolvePath(dirname(file), s.registry.kubeconfig!));
    if (s.registry.namespace !== undefined) registryArgs.push('--k8s-namespace', s.registry.namespace);
  }
  components.push({ name: 'registry', kind: 'registry', netns: ns('ul'), url: registryUrl, args: registryArgs });
  const domains = planDomains(s, registryUrl);
  for (const d of domains.slice(1)) components.push({ name: `registry-${d.name}`, kind: 'registry', netns: ns('ul'), url: d.registry, args: ['registry', '--listen', d.registry] });
  const domainOf = (node: string) => domains.find((d) => d.nodes.includes(node)) ?? domains[0]!;
  // One nsmgr-proxy per domain with nodes (upstream's domain edge): interdomain Requests pass both domains' proxies.
  const edged = domains.length > 1 ? domains.filter((d) => !d.floating) : [];
  edged.forEach((d, i) => (d.proxy = `tcp://${REGISTRY_IP}:${DOMAIN_PROXY_PORT + i}`));
  for (const d of edged) {
    const others = edged.filter((o) => o !== d).map((o) => `${o.name}=${o.proxy}`);
    components.push({
      name: `nsmgr-proxy-${d.name}`, kind: 'nsmgr-proxy', netns: ns('ul'), url: d.proxy!,
      args: ['nsmgr-proxy', '--name', `nsmgr-proxy-${d.name}`, '--listen', d.proxy!, '--registry', d.registry, '--domain', d.name, ...(others.length > 0 ? ['--proxies', others.join(',')] : [])],
    });
  }
  const domainArgs = (node: string) => (domains.length > 1 ? ['--domain', domainOf(node).name, '--domains', domains.map((d) => `${d.name}=${d.registry}`).join(','), '--proxy', domainOf(node).proxy!] : []);
  // SRv6 waypoints per service, as the forwarders' --srv6-via (IPv6 underlay addresses).
  const via = (s.services ?? []).filter((svc) => svc.via && v6).map((svc) => `${svc.name}=${svc.via!.map((w) => nodeOf.get(w)?.ip6 ?? w).join('+')}`);
  // Services whose connections between nodes must be encrypted, as the forwarders' --encrypted-services.
  const encrypted = (s.services ?? []).filter((svc) => svc.encrypted).map((svc) => svc.name);
  for (const n of nodes) {
    const nsmgr = `nsmgr-${n.name}`;
    const tcp = `tcp://${n.ip}:5002`;
    components.push({
      name: nsmgr, kind: 'nsmgr', node: n.name, netns: n.netns, url: sock(nsmgr),
      args: ['nsmgr', '--name', nsmgr, '--listen', sock(nsmgr), '--tcp-listen', tcp, '--registry', domainOf(n.name).registry, ...domainArgs(n.name), ...policy],
    });
    const fwd = `forwarder-${n.name}`;
    components.push({
      name: fwd, kind: 'forwarder', node: n.name, netns: n.netns, url: sock(fwd),
      args: ['forwarder', '--name', fwd, '--listen', sock(fwd), '--nsmgr', sock(nsmgr), '--underlay-ip', n.ip6 ?? n.ip, ...(n.remoteMechanisms ? ['--remote-mechanisms', n.remoteMechanisms.join(',')] : []), ...(via.length > 0 ? ['--srv6-via', via.join(',')] : []), ...(encrypted.length > 0 ? ['--encrypted-services', encrypted.join(',')] : [])],
    });
  }
  const workloads: WorkloadPlan[] = [];
  for (const e of s.endpoints ?? []) {
    const node = nodeOf.get(e.node)!;
    const labels = Object.entries(e.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    const vm = e.runtime === 'vm' ? planVmEndpoint(name, e.name, paths) : undefined;
    workloads.push({ name: e.name, kind: 'endpoint', endpointKind: e.kind, node: e.node, netns: ns(e.name), ...runtimeOf(name, e), ...(vm ? { runtime: 'vm' as const, vm: vm.workload } : {}) });
    // Its VM first: `nsm up` starts it early and registers the endpoint once the guest serves commands.
    if (vm) components.push({ name: vm.workload.component, kind: 'vm', node: e.node, netns: ns(e.name), workloadNetns: ns(e.name), url: '', args: vm.args });
    components.push({
      name: e.name, kind: 'endpoint', node: e.node, netns: node.netns, workloadNetns: ns(e.name), url: sock(e.name),
      args: ['nse', e.kind, '--name', e.name, '--service', e.services.join(','), ...(endpointCidrs(e).length > 0 ? ['--cidr', endpointCidrs(e).join(',')] : []), ...(labels ? ['--labels', labels] : []),
        '--nsmgr', sock(`nsmgr-${e.node}`), '--netns', ns(e.name), '--listen', sock(e.name), ...dpdkArgs(paths.runDir, e)],
    });
  }
  const requests: ClientRequestPlan[] = [];
  for (const c of s.clients ?? []) {
    const node = nodeOf.get(c.node)!;
    const vm = c.runtime === 'vm' ? planVm(name, c.name, paths) : undefined;
    workloads.push({ name: c.name, kind: 'client', node: c.node, netns: ns(c.name), ...runtimeOf(name, c), ...(vm ? { runtime: 'vm' as const, vm: vm.workload } : {}) });
    c.requests.forEach((r, i) => {
      const spec = parseServiceUrl(r, `nsm-${i + 1}`);
      requests.push({ client: c.name, service: spec.service, ifname: spec.ifname });
    });
    components.push({
      name: c.name, kind: 'client', node: c.node, netns: node.netns, workloadNetns: ns(c.name), url: '',
      // A VM's data path is checked from inside the guest (its pings), not from the namespace (which holds no address).
      args: ['nsc', '--name', c.name, '--netns', ns(c.name), '--nsmgr', sock(`nsmgr-${c.node}`), ...dpdkArgs(paths.runDir, c), ...(vm ? ['--liveness-interval', '0'] : []), ...c.requests],
    });
    if (vm) {
      const ifname = parseServiceUrl(c.requests[0]!, 'nsm-1').ifname;
      components.push({ name: vm.workload.component, kind: 'vm', node: c.node, netns: ns(c.name), workloadNetns: ns(c.name), url: '', args: [...vm.args, '--interface', ifname] });
    }
  }
  assignMetricsPorts(components, nodes);
  const plan: MeshPlan = { ...paths, name, file, underlayNetns: ns('ul'), bridge: 'br-ul', registryIp: REGISTRY_IP, underlayPrefix: UNDERLAY_PREFIX, nodes, workloads, components, requests, services: s.services ?? [], ...(domains.length > 1 ? { domains } : {}) };
  if (s.security?.mtls) planSecurity(plan, { trustDomain: s.security.trust_domain, svidLifetimeMs: s.security.svid_lifetime });
  return plan;
}

/** First port of the registries of further domains (the main one keeps 5001): 5011, 5012, ... on the registry address. */
export const DOMAIN_REGISTRY_PORT = 5011;
/** First port of the domains' nsmgr-proxies: 5021, 5022, ... on the registry address. */
export const DOMAIN_PROXY_PORT = 5021;

/** The main domain (nodes no `domains` entry lists) and the scenario's other domains, each with its registry URL. */
function planDomains(s: Scenario, mainRegistry: string): DomainPlan[] {
  const listed = new Set((s.domains ?? []).flatMap((d) => d.nodes ?? []));
  const main: DomainPlan = { name: s.domain ?? s.name, registry: mainRegistry, nodes: s.nodes.map(nodeName).filter((n) => !listed.has(n)) };
  return [main, ...(s.domains ?? []).map((d, i) => ({ name: d.name, registry: `tcp://${REGISTRY_IP}:${DOMAIN_REGISTRY_PORT + i}`, nodes: d.nodes ?? [], ...(d.floating ? { floating: true } : {}) }))];
}

/** A DPDK workload (runtime dpdk) keeps its per-connection memif sockets under the mesh's run directory. */
function dpdkArgs(runDir: string, w: { name: string; runtime?: string | undefined }): string[] {
  return w.runtime === 'dpdk' ? ['--runtime-dir', `${runDir}/workloads/${w.name}`] : [];
}

/** A podman workload's container joins the workload's namespace (nsm up creates and owns it). */
function runtimeOf(mesh: string, w: { name: string; runtime?: string | undefined }): Pick<WorkloadPlan, 'runtime' | 'container'> {
  if (w.runtime === 'dpdk') return { runtime: 'dpdk' };
  return w.runtime === 'podman' ? { runtime: 'podman', container: containerName(mesh, w.name) } : {};
}

/** runtime vm: `nsm vm` runs in the workload's namespace next to the client; the guest's console goes to logs/<client>-vm.console. */
function planVm(mesh: string, client: string, paths: { runDir: string; logDir: string }) {
  const component = `${client}-vm`;
  const tag = vmTag(mesh, client);
  const consoleFile = `${paths.logDir}/${component}.console`;
  return {
    workload: { tag, component, console: consoleFile },
    args: ['vm', '--tag', tag, '--tap', 'vm0', '--connection-file', `${paths.logDir}/${client}.out`, '--state-dir', `${paths.runDir}/vm/${client}`, '--console', consoleFile],
  };
}

/** runtime vm endpoint: `nsm vm-endpoint` runs in the endpoint's namespace; console in logs/<endpoint>-vm.console. */
function planVmEndpoint(mesh: string, endpoint: string, paths: { runDir: string; logDir: string }) {
  const component = `${endpoint}-vm`;
  const tag = vmTag(mesh, endpoint);
  const consoleFile = `${paths.logDir}/${component}.console`;
  return {
    workload: { tag, component, console: consoleFile },
    args: ['vm-endpoint', '--tag', tag, '--bridge', 'vmbr0', '--tap', 'vm0', '--state-dir', `${paths.runDir}/vm/${endpoint}`, '--console', consoleFile],
  };
}

/** First port of the metrics listeners: each namespace's components take METRICS_PORT, +1, ... in plan order. */
export const METRICS_PORT = 9100;

/**
 * Gives every mesh component (not etcd) a metrics listener on the underlay address of the namespace it
 * runs in (registry: the bridge address; node components: the node's), so one scraper in the
 * `<name>-ul` namespace reaches them all.
 */
function assignMetricsPorts(components: ComponentPlan[], nodes: NodePlan[]): void {
  const next = new Map<string, number>();
  for (const c of components) {
    if (c.kind === 'etcd' || c.kind === 'vm') continue;
    const ip = c.node ? nodes.find((n) => n.name === c.node)!.ip : REGISTRY_IP;
    const port = next.get(ip) ?? METRICS_PORT;
    next.set(ip, port + 1);
    c.args.push('--metrics-listen', `${ip}:${port}`);
    c.metricsUrl = `http://${ip}:${port}/metrics`;
  }
}

/** Every namespace of the plan: underlay, nodes, workloads. */
export function planNamespaces(p: MeshPlan): string[] {
  return [p.underlayNetns, ...p.nodes.map((n) => n.netns), ...p.workloads.map((w) => w.netns)];
}
