// Early tunnel (program-dataplane's helper): on the client-side forwarder of a remote connection, the
// tunnel interface in the client's namespace is made while the Request travels on to the peer (from
// this forwarder's own first offer), so that only the peer's address, the addresses and the routes are
// left for the way back. The Request's outcome decides: finished when the answer fits what was made,
// otherwise (another mechanism, another VNI, a failed Request) removed, so nothing half-made stays.
import type { Mechanism } from '../../api/index.js';
import type { ProgrammedLink } from './forwarder-dataplane.js';
import { findMechanism, type MechanismRegistry, type PreparedTunnel, type ProgramContext, type Side } from './mechanism-module.js';

export interface EarlyTunnel {
  /**
   * The links of the connection when the prepared tunnel fits `accepted` (finished: peer, addresses, routes;
   * throws, with its links removed, when that fails); undefined when nothing usable was prepared (what was
   * made is removed first), and the caller programs the usual way.
   */
  finish(p: ProgramContext, side: Side, accepted: Mechanism): Promise<ProgrammedLink[] | undefined>;
  /** Removes what was prepared (the Request failed or is not programmed). */
  discard(): Promise<void>;
}

interface Log {
  debug(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

/**
 * Starts preparing when `incoming` is a local kernel-interface mechanism (no `joinRemote`) and the first
 * of `offers` is a remote mechanism that can prepare; undefined otherwise. A preparation that fails
 * (the name is taken, e.g. by a link of an earlier life to adopt) is dropped quietly: the usual
 * programming after the answer then decides, with its own errors.
 */
export function startEarlyTunnel(reg: MechanismRegistry, p: ProgramContext, incoming: Mechanism, offers: Mechanism[], log: Log): EarlyTunnel | undefined {
  const from = findMechanism(reg, incoming);
  const offer = offers[0];
  const to = findMechanism(reg, offer);
  if (!offer || from?.cls !== 'LOCAL' || from.joinRemote || to?.cls !== 'REMOTE' || !to.prepare) return undefined;
  let started: Promise<PreparedTunnel> | undefined;
  try {
    started = to.prepare(p, from.clientSide(incoming, undefined), offer);
  } catch (err) {
    log.debug({ connId: p.connId, err: String(err) }, 'early tunnel not prepared');
  }
  if (!started) return undefined;
  const prepared: Promise<PreparedTunnel | undefined> = started.catch((err: unknown) => {
    log.debug({ connId: p.connId, err: String(err) }, 'early tunnel not prepared');
    return undefined;
  });
  const drop = async (t: PreparedTunnel) => {
    const results = await Promise.allSettled(t.links.map((l) => p.dp.deleteLink(l.netns, l.name)));
    for (const [i, r] of results.entries()) if (r.status === 'rejected') log.warn({ connId: p.connId, link: t.links[i], err: String(r.reason) }, 'early tunnel removal failed');
  };
  return {
    async finish(q, side, accepted) {
      const t = await prepared;
      if (!t) return undefined;
      if (!t.fits(q, side, accepted)) {
        log.debug({ connId: p.connId, mechanism: accepted.type }, 'early tunnel does not fit the answer: programmed anew');
        await drop(t);
        return undefined;
      }
      return t.finish(q, side, accepted);
    },
    async discard() {
      const t = await prepared;
      if (t) await drop(t);
    },
  };
}
