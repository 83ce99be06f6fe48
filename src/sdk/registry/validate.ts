// Rejects malformed registrations with INVALID_ARGUMENT naming the field (by its
// proto name): missing or over-long names, expirations in the past, bad labels.
// Unknown network service names are fine; Find queries are not validated.
import type { NetworkService, NetworkServiceEndpoint } from '../../api/index.js';
import { InvalidArgumentError } from '../../api/errors.js';
import {
  registryElement,
  type NSERegistryElement,
  type NSRegistryElement,
} from '../core/registry-chain.js';
import { labelKeyProblem, labelValueProblem } from './labels.js';

/** Longest name accepted (a DNS subdomain's limit, as Kubernetes object names). */
const MAX_NAME_LENGTH = 253;

export interface ValidateOptions {
  /** Milliseconds since the epoch (tests may pass a fake clock). */
  now?: () => number;
}

function checkName(name: string, what: string): void {
  if (!name) throw new InvalidArgumentError(`${what}.name is required`);
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidArgumentError(`${what}.name is longer than ${MAX_NAME_LENGTH} characters (${name.length})`);
  }
}

/** Checks a label map's keys (and values unless `keysOnly`, for selectors whose values may be templates). */
function checkLabels(labels: Record<string, string> | undefined, field: string, keysOnly = false): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    const kp = labelKeyProblem(k);
    if (kp) throw new InvalidArgumentError(`${field}: invalid label key ${JSON.stringify(k)}: ${kp}`);
    if (keysOnly) continue;
    const vp = labelValueProblem(v);
    if (vp) throw new InvalidArgumentError(`${field}: invalid value ${JSON.stringify(v)} of label ${JSON.stringify(k)}: ${vp}`);
  }
}

/** Throws InvalidArgumentError if `nse` cannot be registered. */
export function validateNSE(nse: NetworkServiceEndpoint, now = Date.now()): void {
  checkName(nse.name, 'network_service_endpoint');
  if (nse.expirationTime) {
    const t = nse.expirationTime.getTime();
    if (Number.isNaN(t)) throw new InvalidArgumentError('network_service_endpoint.expiration_time is not a valid time');
    if (t <= now) {
      throw new InvalidArgumentError(
        `network_service_endpoint.expiration_time ${nse.expirationTime.toISOString()} is in the past`,
      );
    }
  }
  nse.networkServiceNames.forEach((s, i) => {
    if (!s) throw new InvalidArgumentError(`network_service_endpoint.network_service_names[${i}] is empty`);
  });
  for (const [svc, l] of Object.entries(nse.networkServiceLabels ?? {})) {
    checkLabels(l?.labels, `network_service_endpoint.network_service_labels[${JSON.stringify(svc)}].labels`);
  }
}

/** Throws InvalidArgumentError if `ns` cannot be registered. */
export function validateNS(ns: NetworkService): void {
  checkName(ns.name, 'network_service');
  ns.matches.forEach((m, i) => {
    checkLabels(m.sourceSelector, `network_service.matches[${i}].source_selector`, true);
    m.routes.forEach((r, j) => {
      checkLabels(r.destinationSelector, `network_service.matches[${i}].routes[${j}].destination_selector`, true);
    });
  });
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
