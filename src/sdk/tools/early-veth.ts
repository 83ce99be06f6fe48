// Early veth (program-dataplane's helper): for a connection to an endpoint on this node, its end is made while
// the Request travels to the endpoint, where that endpoint's previous answer put it (learned per endpoint name
// and URL): from a client on this node (KERNEL<->KERNEL) the veth pair; from another node (incoming VXLAN,
// outgoing KERNEL) the tunnel interface, peer included. The answer decides: finished (addresses and routes)
// when it fits what was made, otherwise, or when the Request fails, removed.
import type { IPContext, Mechanism } from '../../api/index.js';
import { parseMeshUrl } from '../../api/transport.js';
import type { ProgrammedLink } from './forwarder-dataplane.js';
import { P } from './mechanisms.js';
import { findMechanism, type LocalMechanism, type MechanismRegistry, type ProgramContext, type RemoteMechanism, type Side } from './mechanism-module.js';

export interface EarlyVeth {
  /**
   * The links of the connection when what was prepared fits the answer (`accepted`, the IP context; finished
   * with both ends' addresses and routes; throws, with its links removed, when that fails); undefined when
   * nothing usable was prepared (what was made is removed first), and the caller programs the usual way.
   */
  finish(p: ProgramContext, incoming: Mechanism, accepted: Mechanism, ip: IPContext | undefined): Promise<ProgrammedLink[] | undefined>;
  /** Removes what was prepared (the Request failed or is not programmed). */
  discard(): Promise<void>;
}

interface Log {
  debug(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

/** What an endpoint's last answer said about its end: its namespace and, when it set its own, the MTU. */
interface Learned {
  netns: string;
  mtu?: number;
}

/** What was made ahead of the answer (a veth pair or a tunnel interface), judged against the answer. */
interface Made {
  readonly links: ProgrammedLink[];
  /** What finishes it when the answer (`incoming`, `accepted`, `ip`, context `fp`) fits what was made; undefined otherwise. */
  fitting(fp: ProgramContext, incoming: Mechanism, accepted: Mechanism, ip: IPContext | undefined): (() => Promise<ProgrammedLink[]>) | undefined;
}

/** Endpoints remembered at most (the oldest learned is forgotten first). */
const MAX_ENDPOINTS = 4096;

/** The cache key of a local endpoint (name and URL), or undefined when the next hop is not on this node. */
export function localEndpointKey(endpointName: string | undefined, url: string | undefined): string | undefined {
  if (!endpointName || !url) return undefined;
  try {
    return parseMeshUrl(url).kind === 'unix' ? `${endpointName}\u0000${url}` : undefined;
  } catch {
    return undefined;
  }
}

const sameLearned = (a: Learned, b: Learned) => a.netns === b.netns && a.mtu === b.mtu;

/** One forwarder's record of its local endpoints' ends, and the preparations made from it. */
export class EarlyVeths {
  private readonly learned = new Map<string, Learned>();

  constructor(private readonly reg: MechanismRegistry) {}

  get size(): number {
    return this.learned.size;
  }

  /**
   * A successful answer from the local endpoint `key` to `offer` (the mechanism this forwarder offered; `requestMtu`
   * the Request's MTU, `answerMtu` the answer's): the first one is learned; one that differs from what was learned
   * (another namespace or MTU, a renamed interface, another mechanism) drops it.
   */
  observe(key: string, offer: Mechanism | undefined, answer: Mechanism, requestMtu: number | undefined, answerMtu: number | undefined): void {
    const netns = answer.parameters[P.inodeURL];
    const name = offer?.parameters[P.name];
    const usable = offer && answer.type === offer.type && netns && name && answer.parameters[P.name] === name;
    if (!usable) {
      this.learned.delete(key);
      return;
    }
    const now: Learned = { netns, ...(answerMtu && answerMtu !== requestMtu ? { mtu: answerMtu } : {}) };
    const had = this.learned.get(key);
    if (had) {
      if (!sameLearned(had, now)) this.learned.delete(key);
      return;
    }
    if (this.learned.size >= MAX_ENDPOINTS) this.learned.delete(this.learned.keys().next().value!);
    this.learned.set(key, now);
  }

  /** The endpoint `key` failed a Request (it may be gone): nothing is predicted for it until it answers again. */
  forget(key: string): void {
    this.learned.delete(key);
  }

  /**
   * Starts preparing when the endpoint `key` has answered before and the first of `offers` (what this forwarder
   * offers it) can be made at the end it predicts: a veth pair when `incoming` is the same local mechanism and can
   * prepare a cross-connect; a tunnel interface when `incoming` is a remote mechanism that can prepare its endpoint
   * side and the offer is a local kernel interface. Undefined otherwise. A preparation that fails (a name taken, a
   * namespace gone) is dropped quietly: the usual programming after the answer then decides.
   */
  start(key: string, p: ProgramContext, incoming: Mechanism, offers: Mechanism[], log: Log): EarlyVeth | undefined {
    const learned = this.learned.get(key);
    const offer = offers[0];
    const name = offer?.parameters[P.name];
    const from = findMechanism(this.reg, incoming);
    if (!learned || !offer || !name || !from) return undefined;
    const q: ProgramContext = { ...p };
    const mtu = learned.mtu ?? p.mtu;
    if (mtu) q.mtu = mtu;
    else delete q.mtu;
    const endpoint: Side = { netns: learned.netns, name, addrs: [], routes: [] };
    const what = from.cls === 'LOCAL' ? 'veth' : 'endpoint tunnel';
    let started: Promise<Made> | undefined;
    try {
      started = from.cls === 'LOCAL' ? this.veth(from, q, incoming, offer, endpoint) : this.tunnel(from, q, incoming, offer, endpoint);
    } catch (err) {
      log.debug({ connId: p.connId, err: String(err) }, `early ${what} not prepared`);
    }
    if (!started) return undefined;
    const prepared: Promise<Made | undefined> = started.catch((err: unknown) => {
      log.debug({ connId: p.connId, err: String(err) }, `early ${what} not prepared`);
      return undefined;
    });
    const drop = async (t: Made) => {
      const results = await Promise.allSettled(t.links.map((l) => p.dp.deleteLink(l.netns, l.name)));
      for (const [i, r] of results.entries()) if (r.status === 'rejected') log.warn({ connId: p.connId, link: t.links[i], err: String(r.reason) }, `early ${what} removal failed`);
    };
    return {
      finish: async (fp, inc, accepted, ip) => {
        const t = await prepared;
        if (!t) return undefined;
        const finish = t.fitting(fp, inc, accepted, ip);
        if (!finish) {
          log.debug({ connId: p.connId, mechanism: accepted.type }, `early ${what} does not fit the answer: programmed anew`);
          await drop(t);
          return undefined;
        }
        return finish();
      },
      async discard() {
        const t = await prepared;
        if (!t) return;
        log.debug({ connId: p.connId }, `early ${what} removed: the Request was not programmed`);
        await drop(t);
      },
    };
  }

  /** A client on this node: the veth pair, its endpoint end at `endpoint`. */
  private veth(from: LocalMechanism, q: ProgramContext, incoming: Mechanism, offer: Mechanism, endpoint: Side): Promise<Made> | undefined {
    if (offer.type !== from.type || !from.prepareCrossConnect) return undefined;
    return from.prepareCrossConnect(q, from.clientSide(incoming, undefined), endpoint)?.then((t) => ({
      links: t.links,
      fitting: (fp, inc, accepted, ip) => {
        const sides = this.sidesOf(from, inc, accepted, ip);
        return sides && t.fits(fp, sides[0], sides[1]) ? () => t.finish(fp, sides[0], sides[1]) : undefined;
      },
    }));
  }

  /** A client on another node: the tunnel interface at `endpoint`, from the incoming remote mechanism. */
  private tunnel(from: RemoteMechanism, q: ProgramContext, incoming: Mechanism, offer: Mechanism, endpoint: Side): Promise<Made> | undefined {
    const to = findMechanism(this.reg, offer);
    if (to?.cls !== 'LOCAL' || to.joinRemote || !from.prepareEndpoint) return undefined;
    return from.prepareEndpoint(q, endpoint, incoming)?.then((t) => ({
      links: t.links,
      fitting: (fp, inc, accepted, ip) => {
        const side = accepted.type === to.type && inc.type === from.type ? endpointSideOf(to, accepted, ip) : undefined;
        return side && t.fits(fp, side, inc) ? () => t.finish(fp, side, inc) : undefined;
      },
    }));
  }

  /** Both ends as the answer wants them; undefined when the answer is not a cross-connect of `from`'s kind (or has no namespace). */
  private sidesOf(from: LocalMechanism, incoming: Mechanism, accepted: Mechanism, ip: IPContext | undefined): [Side, Side] | undefined {
    const to = findMechanism(this.reg, accepted);
    if (to?.cls !== 'LOCAL' || to.type !== from.type || incoming.type !== from.type) return undefined;
    const endpoint = endpointSideOf(to, accepted, ip);
    return endpoint && [from.clientSide(incoming, ip), endpoint];
  }
}

/** The endpoint's end as its answer says; undefined when the answer does not say (no namespace). */
function endpointSideOf(to: LocalMechanism, accepted: Mechanism, ip: IPContext | undefined): Side | undefined {
  try {
    return to.endpointSide(accepted, ip);
  } catch {
    return undefined;
  }
}
