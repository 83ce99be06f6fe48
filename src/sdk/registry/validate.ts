// Rejects malformed registrations with INVALID_ARGUMENT naming the field (by its
// proto name): missing, over-long or ill-formed names, bad URLs, expirations in
// the past, bad labels, and any field or count over the limits of limits.ts.
// Unknown network service names are fine; Find queries are not validated.
import { NetworkService, NetworkServiceEndpoint } from '../../api/index.js';
import { InvalidArgumentError } from '../../api/errors.js';
import {
  registryElement,
  type NSERegistryElement,
  type NSRegistryElement,
} from '../core/registry-chain.js';
import { labelKeyProblem, labelValueProblem } from './labels.js';
import {
  MAX_LABELS,
  MAX_MATCHES,
  MAX_NAME_LENGTH,
  MAX_PAYLOAD_LENGTH,
  MAX_REGISTRATION_BYTES,
  MAX_ROUTES,
  MAX_SERVICES,
  meshUrlProblem,
  textProblem,
} from './limits.js';

export { MAX_NAME_LENGTH } from './limits.js';

export interface ValidateOptions {
  /** Milliseconds since the epoch (tests may pass a fake clock). */
  now?: () => number;
}

function checkText(value: string, field: string, max = MAX_NAME_LENGTH): void {
  if (value.length > max) throw new InvalidArgumentError(`${field} is longer than ${max} characters (${value.length})`);
  const p = textProblem(value);
  if (p) throw new InvalidArgumentError(`${field} ${p}`);
}

function checkName(name: string, what: string): void {
  if (!name) throw new InvalidArgumentError(`${what}.name is required`);
  checkText(name, `${what}.name`);
}

function checkCount(n: number, max: number, field: string): void {
  if (n > max) throw new InvalidArgumentError(`${field} has ${n} entries, at most ${max} are allowed`);
}

/** Checks a label map's keys (and values unless `keysOnly`, for selectors whose values may be templates). */
function checkLabels(labels: Record<string, string> | undefined, field: string, keysOnly = false): void {
  const entries = Object.entries(labels ?? {});
  checkCount(entries.length, MAX_LABELS, field);
  for (const [k, v] of entries) {
    const kp = labelKeyProblem(k);
    if (kp) throw new InvalidArgumentError(`${field}: invalid label key ${JSON.stringify(k.slice(0, 80))}: ${kp}`);
    if (keysOnly) {
      checkText(v, `${field}[${JSON.stringify(k)}]`);
      continue;
    }
    const vp = labelValueProblem(v);
    if (vp) throw new InvalidArgumentError(`${field}: invalid value ${JSON.stringify(v.slice(0, 80))} of label ${JSON.stringify(k)}: ${vp}`);
  }
}

function checkSize(bytes: number, what: string): void {
  if (bytes > MAX_REGISTRATION_BYTES) {
    throw new InvalidArgumentError(`${what} is ${bytes} bytes encoded, at most ${MAX_REGISTRATION_BYTES} are allowed`);
  }
}

/** Throws InvalidArgumentError if `nse` cannot be registered. */
export function validateNSE(nse: NetworkServiceEndpoint, now = Date.now()): void {
  const what = 'network_service_endpoint';
  checkName(nse.name, what);
  if (nse.url) {
    const up = meshUrlProblem(nse.url);
    if (up) throw new InvalidArgumentError(`${what}.url ${JSON.stringify(nse.url.slice(0, 80))}: ${up}`);
  }
  if (nse.expirationTime) {
    const t = nse.expirationTime.getTime();
    if (Number.isNaN(t)) throw new InvalidArgumentError(`${what}.expiration_time is not a valid time`);
    if (t <= now) throw new InvalidArgumentError(`${what}.expiration_time ${nse.expirationTime.toISOString()} is in the past`);
  }
  checkCount(nse.networkServiceNames.length, MAX_SERVICES, `${what}.network_service_names`);
  nse.networkServiceNames.forEach((s, i) => {
    if (!s) throw new InvalidArgumentError(`${what}.network_service_names[${i}] is empty`);
    checkText(s, `${what}.network_service_names[${i}]`);
  });
  const labelled = Object.entries(nse.networkServiceLabels ?? {});
  checkCount(labelled.length, MAX_SERVICES, `${what}.network_service_labels`);
  for (const [svc, l] of labelled) {
    checkText(svc, `${what}.network_service_labels key`);
    checkLabels(l?.labels, `${what}.network_service_labels[${JSON.stringify(svc)}].labels`);
  }
  checkCount(nse.pathIds.length, MAX_SERVICES, `${what}.path_ids`);
  nse.pathIds.forEach((p, i) => checkText(p, `${what}.path_ids[${i}]`));
  checkSize(NetworkServiceEndpoint.encode(nse).finish().length, what);
}

/** Throws InvalidArgumentError if `ns` cannot be registered. */
export function validateNS(ns: NetworkService): void {
  const what = 'network_service';
  checkName(ns.name, what);
  checkText(ns.payload, `${what}.payload`, MAX_PAYLOAD_LENGTH);
  checkCount(ns.matches.length, MAX_MATCHES, `${what}.matches`);
  ns.matches.forEach((m, i) => {
    checkLabels(m.sourceSelector, `${what}.matches[${i}].source_selector`, true);
    checkCount(m.routes.length, MAX_ROUTES, `${what}.matches[${i}].routes`);
    m.routes.forEach((r, j) => {
      checkLabels(r.destinationSelector, `${what}.matches[${i}].routes[${j}].destination_selector`, true);
    });
    checkLabels(m.metadata?.labels, `${what}.matches[${i}].metadata.labels`);
  });
  checkCount(ns.pathIds.length, MAX_SERVICES, `${what}.path_ids`);
  ns.pathIds.forEach((p, i) => checkText(p, `${what}.path_ids[${i}]`));
  checkSize(NetworkService.encode(ns).finish().length, what);
}

/** Validates NSE Register and Unregister (name only). */
export function validateNSEElement(opts: ValidateOptions = {}): NSERegistryElement {
  const now = opts.now ?? Date.now;
  return registryElement({
    register: async (nse, ctx, next) => {
      validateNSE(nse, now());
      return next.register(nse, ctx);
    },
    unregister: async (nse, ctx, next) => {
      checkName(nse.name, 'network_service_endpoint');
      return next.unregister(nse, ctx);
    },
  });
}

/** Validates NS Register and Unregister (name only). */
export function validateNSElement(): NSRegistryElement {
  return registryElement({
    register: async (ns, ctx, next) => {
      validateNS(ns);
      return next.register(ns, ctx);
    },
    unregister: async (ns, ctx, next) => {
      checkName(ns.name, 'network_service');
      return next.unregister(ns, ctx);
    },
  });
}
