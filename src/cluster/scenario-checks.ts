// Cross-field rules of a scenario: names usable in namespace and interface names, unique names,
// known nodes, endpoints with services, non-overlapping CIDRs (none on a passthrough), requests someone can serve.
import { parseServiceUrl } from '../components/service-url.js';
import { overlaps, parsePrefix, type Prefix } from '../sdk/tools/prefix.js';
import { remoteMechanismNames } from '../dataplane/mechanisms/index.js';
import { endpointCidrs, nodeName, nodeRemoteMechanisms, type Scenario } from './scenario-schema.js';
import type { YamlPath } from './yaml-lines.js';

export interface CheckProblem {
  path: YamlPath;
  message: string;
}

/** Scenario names end up as namespace prefixes: short, lower-case, DNS-label-like. */
export const SCENARIO_NAME_RE = /^[a-z][a-z0-9-]{0,15}$/;
/** Node and workload names become `<scenario>-<name>` namespaces and component names. */
const MEMBER_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
/** Reserved suffixes (namespaces the runner itself creates). */
const RESERVED = new Set(['ul']);
const UNDERLAYS = [parsePrefix('198.18.0.0/15'), parsePrefix('2001:db8:ff::/64')];
/** Underlay addresses are 198.18.0.N for N = node index + 1; .254 is the registry. */
const MAX_NODES = 250;

export function checkScenario(s: Scenario): CheckProblem[] {
  const out: CheckProblem[] = [];
  const bad = (path: YamlPath, message: string) => out.push({ path, message });

  if (!SCENARIO_NAME_RE.test(s.name)) bad(['name'], `"${s.name}" must be 1-16 characters of a-z 0-9 - starting with a letter (it prefixes every namespace)`);
  if (s.nodes.length > MAX_NODES) bad(['nodes'], `at most ${MAX_NODES} nodes`);

  const seen = new Map<string, string>();
  const member = (path: YamlPath, name: string, what: string) => {
    if (!MEMBER_NAME_RE.test(name)) bad(path, `"${name}" must be 1-32 characters of a-z 0-9 - (not starting or ending with -): it names namespace "${s.name}-${name}"`);
    else if (RESERVED.has(name)) bad(path, `"${name}" is reserved (namespace "${s.name}-${name}" is the underlay)`);
    const prev = seen.get(name);
    if (prev) bad(path, `duplicate name "${name}" (already used by ${prev})`);
    else seen.set(name, what);
  };
  const nodeNames = s.nodes.map(nodeName);
  s.nodes.forEach((n, i) => member(typeof n === 'string' ? ['nodes', i] : ['nodes', i, 'name'], nodeName(n), 'a node'));
  s.nodes.forEach((n, i) => {
    const list = nodeRemoteMechanisms(n);
    if (!list) return;
    const known = remoteMechanismNames();
    if (!list.some((m) => known.includes(m.toLowerCase()))) {
      bad(['nodes', i, 'remote_mechanisms'], `no supported remote mechanism in [${list.join(', ')}] (supported: ${known.join(', ')})`);
    }
  });
  const nodes = new Set(nodeNames);

  checkRegistry(s, bad);

  const serviceNames = new Set<string>();
  (s.services ?? []).forEach((svc, i) => {
    if (serviceNames.has(svc.name)) bad(['services', i, 'name'], `duplicate service "${svc.name}"`);
    serviceNames.add(svc.name);
    (svc.via ?? []).forEach((n, j) => {
      if (!nodes.has(n)) bad(['services', i, 'via', j], `unknown node "${n}" (nodes: ${nodeNames.join(', ')})`);
    });
    if (svc.via && s.underlay !== 'ipv6') bad(['services', i, 'via'], 'traffic engineering (via) runs over SRv6 and needs `underlay: ipv6`');
  });

  const offered = new Set<string>();
  const cidrs: { cidr: Prefix; owner: string; vl3?: string }[] = [];
  (s.endpoints ?? []).forEach((e, i) => {
    member(['endpoints', i, 'name'], e.name, `endpoint ${i + 1}`);
    // A VM endpoint's guest answers on its connections' addresses: only an icmp-responder needs nothing more.
    if (e.runtime === 'vm' && e.kind !== 'icmp-responder') bad(['endpoints', i, 'runtime'], `endpoint "${e.name}" is a ${e.kind}: runtime vm runs icmp-responder endpoints only (use netns or podman for ${e.kind})`);
    if (!nodes.has(e.node)) bad(['endpoints', i, 'node'], `unknown node "${e.node}" (nodes: ${nodeNames.join(', ')})`);
    if (e.services.length === 0) bad(['endpoints', i, 'services'], `endpoint "${e.name}" offers no service`);
    e.services.forEach((svc) => offered.add(svc));
    if (e.kind === 'passthrough' && (e.cidr !== undefined || e.cidrs !== undefined)) {
      bad(['endpoints', i, e.cidr !== undefined ? 'cidr' : 'cidrs'], `endpoint "${e.name}" is a passthrough: it hands out its onward connection's addresses and takes no cidr (remove it)`);
      return;
    }
    if (e.cidr !== undefined && e.cidrs !== undefined) {
      bad(['endpoints', i, 'cidrs'], `endpoint "${e.name}" gives either cidr or cidrs, not both`);
      return;
    }
    const list = endpointCidrs(e);
    // A macswap endpoint (runtime dpdk) bounces frames on memif: no addresses to hand out.
    if (e.kind === 'macswap' && e.runtime !== 'dpdk') bad(['endpoints', i, 'runtime'], `endpoint "${e.name}" is a macswap (DPDK on memif): give it runtime: dpdk`);
    if (list.length === 0) {
      if (e.kind !== 'passthrough' && e.kind !== 'macswap') bad(['endpoints', i, 'name'], `endpoint "${e.name}" needs a cidr (e.g. 169.254.1.0/24 or 169.254.1.0/24,2001:db8:1::/64)`);
      return;
    }
    if (e.kind === 'vl3' && list.length !== 1) bad(['endpoints', i, e.cidrs !== undefined ? 'cidrs' : 'cidr'], `vl3 endpoint "${e.name}" takes one CIDR: the whole vL3 prefix (e.g. 169.254.16.0/20)`);
    list.forEach((text, k) => {
      const at: YamlPath = e.cidrs !== undefined ? ['endpoints', i, 'cidrs', k] : ['endpoints', i, 'cidr'];
      let cidr: Prefix;
      try {
        if (!text.includes('/')) throw new Error();
        cidr = parsePrefix(text);
      } catch {
        bad(at, `"${text}" is not a CIDR (e.g. 169.254.1.0/24 or 2001:db8:1::/64)`);
        return;
      }
      const max = cidr.family === 4 ? 30 : 126;
      if (cidr.bits > max) bad(at, `${text} is too small for point-to-point pairs (at most /${max})`);
      const ul = UNDERLAYS.find((u) => overlaps(u, cidr));
      if (ul) bad(at, `${text} overlaps the underlay ${ul.text}`);
      // Instances of one vL3 service share its prefix (each takes a slice of it).
      const vl3 = e.kind === 'vl3' ? e.services.join(',') : undefined;
      const clash = cidrs.find((c) => overlaps(c.cidr, cidr) && !(vl3 !== undefined && c.vl3 === vl3 && c.cidr.text === cidr.text));
      if (clash) bad(at, `${text} overlaps ${clash.cidr.text} of ${clash.owner === e.name ? 'the same endpoint' : `endpoint "${clash.owner}"`}`);
      cidrs.push({ cidr, owner: e.name, ...(vl3 !== undefined ? { vl3 } : {}) });
    });
  });

  checkDomains(s, nodes, nodeNames, bad);

  (s.clients ?? []).forEach((c, i) => {
    member(['clients', i, 'name'], c.name, `client ${i + 1}`);
    if (c.runtime === 'vm' && c.requests.length !== 1) bad(['clients', i, 'requests'], `client "${c.name}" runs in a VM with one NIC: give exactly one request`);
    if (!nodes.has(c.node)) bad(['clients', i, 'node'], `unknown node "${c.node}" (nodes: ${nodeNames.join(', ')})`);
    const ifnames = new Set<string>();
    c.requests.forEach((r, j) => {
      try {
        const spec = parseServiceUrl(r, `nsm-${j + 1}`);
        if (ifnames.has(spec.ifname)) bad(['clients', i, 'requests', j], `interface "${spec.ifname}" is requested twice`);
        ifnames.add(spec.ifname);
        if (spec.mechanism === 'vhostuser' && c.runtime !== 'dpdk') bad(['clients', i, 'requests', j], `client "${c.name}" requests vhostuser:// (a DPDK virtio-user NIC): give it runtime: dpdk`);
        if (!offered.has(spec.service) && !(spec.domain && offered.has(`${spec.service}@${spec.domain}`))) bad(['clients', i, 'requests', j], `no endpoint offers service "${spec.service}"`);
      } catch (err) {
        bad(['clients', i, 'requests', j], err instanceof Error ? err.message : String(err));
      }
    });
  });
  return out;
}

const DOMAIN_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

/** `domains`: valid unique names (not the main domain's), known nodes in at most one domain, no nodes on a floating one. */
function checkDomains(s: Scenario, nodes: Set<string>, nodeNames: string[], bad: (path: YamlPath, message: string) => void): void {
  const main = s.domain ?? s.name;
  if (s.domain !== undefined && !DOMAIN_NAME.test(s.domain)) bad(['domain'], `"${s.domain}" is not a domain name (a-z 0-9 . -)`);
  const seen = new Set([main]);
  const placed = new Map<string, string>();
  (s.domains ?? []).forEach((d, i) => {
    if (!DOMAIN_NAME.test(d.name)) bad(['domains', i, 'name'], `"${d.name}" is not a domain name (a-z 0-9 . -)`);
    if (seen.has(d.name)) bad(['domains', i, 'name'], `domain "${d.name}" is given twice${d.name === main ? ' (it is the main domain: nodes no domain lists)' : ''}`);
    seen.add(d.name);
    if (d.floating && d.nodes?.length) bad(['domains', i, 'nodes'], `floating domain "${d.name}" is a shared registry only: it has no nodes`);
    if (!d.floating && !d.nodes?.length) bad(['domains', i, 'nodes'], `domain "${d.name}" needs nodes (or floating: true)`);
    (d.nodes ?? []).forEach((n, j) => {
      if (!nodes.has(n)) bad(['domains', i, 'nodes', j], `unknown node "${n}" (nodes: ${nodeNames.join(', ')})`);
      else if (placed.has(n)) bad(['domains', i, 'nodes', j], `node "${n}" is already in domain "${placed.get(n)}"`);
      placed.set(n, d.name);
    });
  });
}

/**
 * `registry: { backend, endpoints }`: endpoints only with etcd, each `http(s)://host:port`, not a
 * loopback address (the registry runs in the underlay namespace, whose loopback is its own).
 */
function checkRegistry(s: Scenario, bad: (path: YamlPath, message: string) => void): void {
  const r = s.registry;
  if (r?.backend === 'k8s' && r.kubeconfig === undefined) bad(['registry', 'backend'], 'backend k8s needs registry.kubeconfig (a kubeconfig file whose server the underlay namespace reaches)');
  if (r?.backend !== 'k8s' && r?.kubeconfig !== undefined) bad(['registry', 'kubeconfig'], 'only for backend k8s');
  if (r?.backend !== 'k8s' && r?.namespace !== undefined) bad(['registry', 'namespace'], 'only for backend k8s');
  if (r?.endpoints === undefined) return;
  if (r.backend !== 'etcd') {
    bad(['registry', 'endpoints'], 'only for backend etcd');
    return;
  }
  if (r.endpoints.length === 0) {
    bad(['registry', 'endpoints'], 'empty: list etcd client URLs, or leave endpoints out and nsm up starts a local etcd');
    return;
  }
  const schemes = new Set<string>();
  r.endpoints.forEach((raw, i) => {
    const at: YamlPath = ['registry', 'endpoints', i];
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      bad(at, `"${raw}" is not a URL (want http://host:port)`);
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return bad(at, `"${raw}": scheme must be http or https`);
    if (url.hostname === '' || url.port === '' || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      return bad(at, `"${raw}": want scheme://host:port (e.g. http://198.19.0.5:2379)`);
    }
    if (/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname)) {
      return bad(at, `"${raw}": loopback here is the underlay namespace's own, where the registry runs, not this host's; use an address reachable from the underlay`);
    }
    schemes.add(url.protocol);
  });
  if (schemes.size > 1) bad(['registry', 'endpoints'], 'mix of http and https URLs');
}
