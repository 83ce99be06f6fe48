// forwarder-mechanisms (forwarder): negotiates mechanisms through the registry of
// mechanism modules it is given. Incoming: the first usable preference of a type this
// forwarder supports (a LOCAL one from a client on this node; a REMOTE one from the
// client-side forwarder, which the endpoint side thus chooses by the offer's order).
// Outgoing: the local mechanism to an endpoint on this node, or every remote mechanism
// this forwarder supports, in its priority order, to another node. On the way back it
// hands the caller its incoming mechanism while keeping both for the data plane.
import type { Mechanism } from '../../api/index.js';
import { parseMeshUrl } from '../../api/transport.js';
import { element, type NetworkServiceElement } from '../core/chain.js';
import { createContextKey, type Ctx } from '../core/ctx.js';
import { InvalidArgumentError } from '../../api/errors.js';
import { describeSupported, findMechanism, type MechanismEnv, type MechanismRegistry } from '../tools/mechanism-module.js';
import { describeMechanisms } from '../tools/mechanisms.js';
import { nextUrlOf } from '../tools/next-url.js';

export { endpointIfName } from '../tools/mechanism-module.js';

export interface ForwarderMechanisms {
  incoming: Mechanism;
  outgoing?: Mechanism;
}

/** Path segment metric naming the remote mechanism a forwarder uses for the connection. */
export const REMOTE_MECHANISM_METRIC = 'remote_mechanism';

/** Per call: the mechanisms of the Request or Close being served, for program-dataplane. */
const CALL_MECHS = createContextKey<ForwarderMechanisms>('forwarder.mechanisms.call');
/** Per connection: the mechanisms of its last successful Request, for refreshes and Close. */
const KEPT_MECHS = createContextKey<ForwarderMechanisms>('forwarder.mechanisms.kept');

export function mechanismsOf(ctx: Ctx): ForwarderMechanisms | undefined {
  return ctx.values.get(CALL_MECHS);
}

/** The connection label that asks for an encrypting remote mechanism (`kernel://svc/nsm-1?encrypted=true`). */
export const ENCRYPTED_LABEL = 'encrypted';

/** Why a remote mechanism does not qualify when encryption is required (undefined: it does). */
const unencrypted = (mod: { cls: string; type: string; encrypts?: true }, required: string | undefined) =>
  required && mod.cls === 'REMOTE' && !mod.encrypts ? `${required}, and REMOTE/${mod.type} does not encrypt` : undefined;

/** The first usable preference (unknown and malformed ones are skipped); the error says what was offered and what is supported. */
function chooseIncoming(reg: MechanismRegistry, prefs: Mechanism[], current: Mechanism | undefined, env: MechanismEnv, connId: string, required?: string): Mechanism {
  let problem: string | undefined;
  for (const m of current ? [current, ...prefs] : prefs) {
    const mod = findMechanism(reg, m);
    if (!mod) continue;
    const wrong = unencrypted(mod, required) ?? (mod.cls === 'LOCAL' ? mod.check(m) : mod.check(m, env));
    if (wrong) {
      problem ??= wrong;
      continue;
    }
    return mod.cls === 'LOCAL' ? mod.accept(m) : mod.accept(m, env, connId);
  }
  const what = `offered: ${describeMechanisms(prefs)}; this forwarder supports: ${describeSupported(reg)}`;
  throw new InvalidArgumentError(problem ? `${problem} (${what})` : `no supported mechanism (${what})`);
}

/**
 * What to offer a local endpoint: the local mechanism of the connection's kind (its outgoing one on a refresh,
 * else the client's on this node: KERNEL to KERNEL, MEMIF to MEMIF, VHOSTUSER to what it cross-connects: MEMIF); from another node,
 * every local one that endpoints use (KERNEL first).
 */
function localOffers(reg: MechanismRegistry, connId: string, kind: Mechanism, prevOut: Mechanism | undefined): Mechanism[] {
  const same = reg.local.find((l) => l.type === kind.type);
  if (same && !same.clientOnly) return [same.offer(connId, prevOut)];
  // A client-only kind (VHOSTUSER) is offered the kinds it cross-connects to; from another node, every endpoint kind.
  const kinds = reg.local.filter((l) => !l.clientOnly && (!same || same.crossConnects?.includes(l.type)));
  return kinds.map((l) => l.offer(connId, prevOut?.type === l.type ? prevOut : undefined));
}

export function forwarderMechanisms(opts: { underlayIp: string; mechanisms: MechanismRegistry; encryptedServices?: string[] }): NetworkServiceElement {
  const reg = opts.mechanisms;
  const encrypted = new Set(opts.encryptedServices ?? []);
  /** Why this connection needs an encrypting remote mechanism, if it does. */
  const requirement = (conn: { networkService: string; labels?: Record<string, string> }) =>
    encrypted.has(conn.networkService)
      ? `service "${conn.networkService}" requires encryption`
      : conn.labels?.[ENCRYPTED_LABEL] === 'true'
        ? `the client requires encryption (label ${ENCRYPTED_LABEL}=true)`
        : undefined;
  const env: MechanismEnv = { underlayIp: opts.underlayIp };
  const local = reg.local[0];
  if (!local) throw new Error('forwarderMechanisms: no local mechanism registered');
  return element({
    async request(req, ctx, next) {
      const conn = req.connection!;
      const previous = mechanismsOf(ctx) ?? ctx.metadata.get(KEPT_MECHS);
      const required = requirement(conn);
      const incoming = chooseIncoming(reg, req.mechanismPreferences, previous?.incoming ?? conn.mechanism, env, conn.id, required);
      const url = nextUrlOf(ctx);
      const toLocal = !!url && parseMeshUrl(url).kind === 'unix';
      const prevOut = previous?.outgoing;
      const inRemote = reg.remote.some((r) => r.type === incoming.type) ? incoming : undefined;
      const offers = toLocal
        ? localOffers(reg, conn.id, prevOut ?? incoming, prevOut)
        : reg.remote
            .filter((r) => !required || r.encrypts)
            .flatMap((r) => r.offer(env, prevOut?.type === r.type ? prevOut : undefined, inRemote?.type === r.type ? inRemote : undefined, conn.id) ?? []);
      if (offers.length === 0 && required) {
        throw new InvalidArgumentError(
          `${required}, but no remote mechanism this forwarder can offer encrypts (its list: ${reg.remote.map((r) => `REMOTE/${r.type}`).join(', ')}; only WIREGUARD and IPSEC encrypt)`,
        );
      }
      if (offers.length === 0) {
        throw new InvalidArgumentError(`no remote mechanism can be offered from this forwarder (underlay ${env.underlayIp}; supported: ${describeSupported(reg)})`);
      }
      const mechs: ForwarderMechanisms = { incoming };
      ctx.values.set(CALL_MECHS, mechs);
      conn.mechanism = prevOut;
      const hop = conn.path?.index;
      const out = await next.request({ ...req, mechanismPreferences: offers }, ctx);
      mechs.outgoing = out.mechanism;
      // The remote mechanism in use, on this hop's path segment: clients report it (status `remoteMechanism`).
      const remote = [out.mechanism, incoming].find((m) => m && reg.remote.some((r) => r.type === m.type));
      const seg = hop === undefined ? undefined : out.path?.pathSegments[hop];
      if (seg && remote) seg.metrics = { ...seg.metrics, [REMOTE_MECHANISM_METRIC]: remote.type };
      ctx.metadata.set(KEPT_MECHS, mechs);
      return { ...out, mechanism: incoming };
    },
    async close(conn, ctx, next) {
      const mechs = ctx.metadata.get(KEPT_MECHS);
      if (mechs) ctx.values.set(CALL_MECHS, mechs);
      await next.close({ ...conn, mechanism: mechs?.outgoing ?? conn.mechanism }, ctx);
    },
  });
}
