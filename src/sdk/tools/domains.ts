// Interdomain names and the domain map: `svc@domain` and `nse@domain` name things of another
// domain (the last `@` splits); a domain name resolves to that domain's registry URL through the
// map an nsmgr is given (`--domains domain-b=tcp://HOST:PORT,...`, env NSM_DOMAINS).
import { InvalidArgumentError, NotFoundError } from '../../api/errors.js';

export type DomainMap = ReadonlyMap<string, string>;

const DOMAIN = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

/** "svc@domain-b" -> { name: "svc", domain: "domain-b" }; no `@`: no domain. */
export function splitDomain(name: string): { name: string; domain?: string } {
  const at = name.lastIndexOf('@');
  return at < 0 ? { name } : { name: name.slice(0, at), domain: name.slice(at + 1) };
}

export const withDomain = (name: string, domain: string): string => `${name}@${domain}`;

/** Parses "a=tcp://198.18.0.254:5001,b=tcp://..." (or a list of such entries). */
export function parseDomains(text: string | string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of (Array.isArray(text) ? text : text.split(',')).map((e) => e.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq).trim();
    const url = entry.slice(eq + 1).trim();
    if (eq <= 0 || !url) throw new InvalidArgumentError(`domains: "${entry}" is not NAME=URL (e.g. domain-b=tcp://198.18.0.254:5003)`);
    if (!DOMAIN.test(name)) throw new InvalidArgumentError(`domains: "${name}" is not a domain name (a-z 0-9 . -)`);
    if (!/^(tcp|unix):\/\//.test(url)) throw new InvalidArgumentError(`domains: registry URL of "${name}" must be tcp:// or unix:// (got "${url}")`);
    if (out.has(name)) throw new InvalidArgumentError(`domains: "${name}" is given twice`);
    out.set(name, url);
  }
  return out;
}

/** The registry URL of `domain`; NOT_FOUND naming the known domains when it is not in the map. */
export function registryOf(domains: DomainMap, domain: string): string {
  const url = domains.get(domain);
  if (!url) throw new NotFoundError(`unknown domain "${domain}" (known: ${[...domains.keys()].join(', ') || 'none'}; give its registry with --domains ${domain}=tcp://HOST:PORT)`);
  return url;
}

/**
 * How a name arriving at the nsmgr of domain `own` is seen inside it: everything from `@own` on
 * is dropped ("nse-b@domain-b" and "nse-b@domain-b@floating" are "nse-b" in domain-b); a name
 * not of this domain is unchanged.
 */
export function localName(name: string, own: string): string {
  const i = name.indexOf(`@${own}`);
  return i >= 0 && (i + own.length + 1 === name.length || name[i + own.length + 1] === '@') ? name.slice(0, i) : name;
}

/**
 * The domain an endpoint name lives in: the first domain after its own name ("nse-b@domain-b" and
 * "nse-f@domain-b@floating" live in domain-b); undefined for a name without a domain.
 */
export function homeDomain(name: string): string | undefined {
  const parts = name.split('@');
  return parts.length > 1 ? parts[1] : undefined;
}
