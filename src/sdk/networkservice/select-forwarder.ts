// select-forwarder (nsmgr): picks a forwarder of this node for the connection,
// preferring the one already on its path, filtered by the labels the service's
// policy asks for (the selecting match's metadata labels, set by discover) and by
// the request's own `forwarder.<key>` labels, and tries the others if it fails.
import { element, type NetworkServiceElement } from '../core/chain.js';
import { createContextKey, type Ctx } from '../core/ctx.js';
import { UnavailableError } from '../../api/errors.js';
import type { ForwarderDirectory } from '../tools/directory.js';
import { setNextUrl } from '../tools/next-url.js';
import { tryCandidates } from '../tools/try-candidates.js';
import type { NetworkServiceEndpoint } from '../../api/index.js';

/** Connection labels with this prefix select forwarders: `forwarder.<key>=<value>`. */
export const FORWARDER_LABEL_PREFIX = 'forwarder.';

function wanted(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (k.startsWith(FORWARDER_LABEL_PREFIX)) out[k.slice(FORWARDER_LABEL_PREFIX.length)] = v;
  return out;
}

function fits(fwd: NetworkServiceEndpoint, selector: Record<string, string>): boolean {
  const labels = Object.values(fwd.networkServiceLabels).reduce<Record<string, string>>((acc, l) => ({ ...acc, ...l.labels }), {});
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Per connection: the forwarder labels the selecting match asks for. */
const POLICY_SELECTOR = createContextKey<Record<string, string>>('selectForwarder.policy');

/** Records the forwarder labels the service's policy asks for (kept for the connection's refreshes). */
export function setForwarderPolicy(ctx: Ctx, labels: Record<string, string> | undefined): void {
  if (labels && Object.keys(labels).length > 0) ctx.metadata.set(POLICY_SELECTOR, labels);
  else ctx.metadata.delete(POLICY_SELECTOR);
}

export function selectForwarder(directory: ForwarderDirectory): NetworkServiceElement {
  let cursor = 0;
  return element({
    async request(req, ctx, next) {
      const conn = req.connection!;
      const selector = { ...(ctx.metadata.get(POLICY_SELECTOR) ?? {}), ...wanted(conn.labels) };
      const all = directory.forwarders().filter((f) => fits(f, selector));
      if (all.length === 0) throw new UnavailableError(`no forwarder available on this node${Object.keys(selector).length ? ' matching the requested labels' : ''}`);
      const onPath = conn.path?.pathSegments[conn.path.index + 1]?.name;
      const start = cursor++ % all.length;
      const ordered = [...all.slice(start), ...all.slice(0, start)].sort((a, b) => Number(b.name === onPath) - Number(a.name === onPath));
      return tryCandidates(
        ordered,
        (fwd) => {
          setNextUrl(ctx, fwd.url);
          return next.request(req, ctx);
        },
        ctx.signal,
      );
    },
  });
}
