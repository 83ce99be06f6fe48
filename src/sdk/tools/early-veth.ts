// Early veth (program-dataplane's helper): for a connection between a client and an endpoint on this node
// (KERNEL<->KERNEL), the veth pair is made while the Request travels to the endpoint, its endpoint end where
// that endpoint's previous answer put it (learned per endpoint name and URL). The answer decides: finished
// (addresses and routes) when it fits what was made, otherwise, or when the Request fails, removed.
import type { IPContext, Mechanism } from '../../api/index.js';
import { parseMeshUrl } from '../../api/transport.js';
import type { ProgrammedLink } from './forwarder-dataplane.js';
import { P } from './mechanisms.js';
import { findMechanism, type LocalMechanism, type MechanismRegistry, type PreparedCrossConnect, type ProgramContext, type Side } from './mechanism-module.js';

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
   * Starts preparing when `incoming` and the first of `offers` are the same local mechanism that can prepare a
   * cross-connect and the endpoint `key` has answered before; undefined otherwise. A preparation that fails (a
   * name taken, a namespace gone) is dropped quietly: the usual programming after the answer then decides.
   */
  start(key: string, p: ProgramContext, incoming: Mechanism, offers: Mechanism[], log: Log): EarlyVeth | undefined {
    const learned = this.learned.get(key);
    const offer = offers[0];
    const from = findMechanism(this.reg, incoming);
    const name = offer?.parameters[P.name];
    if (!learned || !offer || !name || from?.cls !== 'LOCAL' || offer.type !== from.type || !from.prepareCrossConnect) return undefined;
    const q: ProgramContext = { ...p };
    const mtu = learned.mtu ?? p.mtu;
    if (mtu) q.mtu = mtu;
    else delete q.mtu;
    const endpoint: Side = { netns: learned.netns, name, addrs: [], routes: [] };
    let started: Promise<PreparedCrossConnect> | undefined;
    try {
      started = from.prepareCrossConnect(q, from.clientSide(incoming, undefined), endpoint);
    } catch (err) {
      log.debug({ connId: p.connId, err: String(err) }, 'early veth not prepared');
    }
    if (!started) return undefined;
    const prepared: Promise<PreparedCrossConnect | undefined> = started.catch((err: unknown) => {
      log.debug({ connId: p.connId, err: String(err) }, 'early veth not prepared');
      return undefined;
    });
    const drop = async (t: PreparedCrossConnect) => {
      const results = await Promise.allSettled(t.links.map((l) => p.dp.deleteLink(l.netns, l.name)));
      for (const [i, r] of results.entries()) if (r.status === 'rejected') log.warn({ connId: p.connId, link: t.links[i], err: String(r.reason) }, 'early veth removal failed');
    };
    return {
      finish: async (fp, inc, accepted, ip) => {
        const t = await prepared;
        if (!t) return undefined;
        const sides = this.sidesOf(from, inc, accepted, ip);
        if (!sides || !t.fits(fp, sides[0], sides[1])) {
          log.debug({ connId: p.connId, mechanism: accepted.type }, 'early veth does not fit the answer: programmed anew');
          await drop(t);
          return undefined;
        }
        return t.finish(fp, sides[0], sides[1]);
      },
      async discard() {
        const t = await prepared;
        if (!t) return;
        log.debug({ connId: p.connId }, 'early veth removed: the Request was not programmed');
        await drop(t);
      },
    };
  }

  /** Both ends as the answer wants them; undefined when the answer is not a cross-connect of `from`'s kind (or has no namespace). */
  private sidesOf(from: LocalMechanism, incoming: Mechanism, accepted: Mechanism, ip: IPContext | undefined): [Side, Side] | undefined {
    const to = findMechanism(this.reg, accepted);
    if (to?.cls !== 'LOCAL' || to.type !== from.type || incoming.type !== from.type) return undefined;
    try {
      return [from.clientSide(incoming, ip), to.endpointSide(accepted, ip)];
    } catch {
      return undefined;
    }
  }
}
