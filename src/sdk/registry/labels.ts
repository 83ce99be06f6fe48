// Kubernetes-style label syntax (keys: optional DNS-subdomain prefix + '/' + name;
// values: empty or a name), used to validate registry labels and selectors.

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return 'prefix must be a DNS subdomain (lowercase, at most 253 characters)';
    }
  }
  if (name.length === 0 || name.length > 63) return 'name part must be 1-63 characters';
  if (!NAME.test(name)) return 'name part must be alphanumeric, with - _ . inside';
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > 63) return 'must be at most 63 characters';
  if (!NAME.test(value)) return 'must be alphanumeric, with - _ . inside';
  return undefined;
}
