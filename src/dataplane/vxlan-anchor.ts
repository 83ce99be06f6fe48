// VXLAN anchors: one idle VXLAN interface per underlay namespace, UDP port and address family, up for the
// driver's life, so that the kernel's UDP socket the connections' VXLAN interfaces share there stays open. The
// kernel closes that socket with the last interface using it, and a new interface waits (~10-15 ms, rtnl lock
// and RCU) until the old socket is gone: a connection made right after the Close of the node's last one paid
// that. The anchor itself sits in a private, unnamed namespace of the process (nothing shows in the node's or a
// workload's), which the kernel removes, anchor included, when the driver closes it or the process ends.
import type { Logger } from 'pino';
import { isIPv4 } from 'node:net';
import { closeSync } from 'node:fs';
import { netnsKey, type NetnsRef } from './netns.js';
import type { RtnlDriver } from './rtnl-driver.js';
import { openPrivateNetns } from './rtnl-socket.js';

/**
 * The VNI of a forwarder's VXLAN anchor, on every underlay and port it uses: never offered, and an offer of it is
 * answered with another (mechanisms/vxlan/vni-book.ts; the kernel refuses a second interface with it there).
 */
export const ANCHOR_VNI = 2 ** 24 - 1;

export class VxlanAnchors {
  private readonly made = new Map<string, Promise<void>>();
  private nsFd: number | undefined;
  private closed = false;

  constructor(
    private readonly rtnl: RtnlDriver,
    private readonly log?: Logger,
    /** Opens the namespace the anchors go in (tests pass their own). */
    private readonly openNetns: () => number = openPrivateNetns,
  ) {}

  /**
   * Makes the anchor for VXLAN interfaces whose underlay is `ns` with a `local` address of that family on `port`
   * (once; later calls get the same promise). Never rejects: an anchor that cannot be made (e.g. VNI ANCHOR_VNI
   * taken there by someone else) is logged once, and connections go on without one.
   */
  ensure(ns: NetnsRef, nsId: string | undefined, local: string, port: number): Promise<void> {
    const family = isIPv4(local) ? 4 : 6;
    const key = `${netnsKey(ns)}|${nsId ?? ''}|${family}|${port}`;
    let p = this.made.get(key);
    if (!p) {
      p = this.make(ns, nsId, local, port, this.made.size).catch((err: unknown) => {
        // Taken: an interface with that VNI on that port (e.g. another driver's anchor in this process) holds the socket already.
        if (/File exists/i.test(String(err))) this.log?.debug({ underlay: netnsKey(ns), port }, 'VXLAN anchor VNI taken there: the socket is held already');
        else this.log?.warn({ underlay: netnsKey(ns), port, err: String(err) }, 'VXLAN anchor not made: a connection made right after the last one closed waits for a new UDP socket');
      });
      this.made.set(key, p);
    }
    return p;
  }

  private async make(ns: NetnsRef, nsId: string | undefined, local: string, port: number, n: number): Promise<void> {
    if (this.closed) return;
    this.nsFd ??= this.openNetns();
    const target: NetnsRef = { kind: 'path', path: `/proc/${process.pid}/fd/${this.nsFd}` };
    const name = `nsm-anchor${n}`;
    await this.rtnl.createVxlan(ns, nsId, target, undefined, { name, vni: ANCHOR_VNI, local, port });
    await this.rtnl.aliasUp(target, undefined, name, 'nsm-vxlan-anchor');
    // The rtnetlink socket in there would keep the namespace after close(): it is only needed to make the anchor.
    this.rtnl.closeFor(target);
    this.log?.debug({ underlay: netnsKey(ns), port, local }, 'VXLAN anchor up');
  }

  /** Lets the kernel remove the anchors (with their namespace); later calls make nothing. */
  close(): void {
    this.closed = true;
    if (this.nsFd !== undefined) closeSync(this.nsFd);
    this.nsFd = undefined;
  }
}
