// The VNIs this process's connections use, by connection id, per underlay (`domain`: a forwarder's underlay
// address; in-process meshes run several forwarders in one process). The kernel allows one VXLAN interface per
// VNI on a namespace's UDP port, and VNIs are picked at random (2^24 of them): among ~1,000 tunnels on a node, a
// new pick collides about once in 16,000 (a 10,000-connection mesh hit it). A client side offers a VNI none of
// its connections uses; an endpoint side answers an offer whose VNI another of its connections uses with another.
import { randomInt } from 'node:crypto';
import { ANCHOR_VNI } from '../../vxlan-anchor.js';

/** Entries kept at most (a Request that failed before its Close leaves its entry; the oldest go first). */
const MAX_ENTRIES = 65_536;

export class VniBook {
  /** Each connection's domain/VNI key. */
  private readonly byConn = new Map<string, string>();
  private readonly users = new Map<string, Set<string>>();

  constructor(private readonly pick: () => number = () => randomInt(1, ANCHOR_VNI)) {}

  /** Whether a connection other than `connId` uses `vni` in `domain`. */
  takenByOther(domain: string, vni: number, connId: string): boolean {
    if (vni === ANCHOR_VNI) return true;
    const u = this.users.get(`${domain}/${vni}`);
    return !!u && (u.size > 1 || !u.has(connId));
  }

  /** A VNI no connection in `domain` uses (recorded for `connId`). */
  fresh(domain: string, connId: string): number {
    for (let i = 0; i < 64; i++) {
      const v = this.pick();
      if (v !== ANCHOR_VNI && !this.users.has(`${domain}/${v}`)) return this.use(domain, connId, v);
    }
    return this.use(domain, connId, this.pick());
  }

  /** Records that `connId` uses `vni` in `domain` (instead of what it had); returns `vni`. */
  use(domain: string, connId: string, vni: number): number {
    const key = `${domain}/${vni}`;
    if (this.byConn.get(connId) === key) return vni;
    this.release(connId);
    if (this.byConn.size >= MAX_ENTRIES) this.release(this.byConn.keys().next().value!);
    this.byConn.set(connId, key);
    const u = this.users.get(key) ?? new Set<string>();
    u.add(connId);
    this.users.set(key, u);
    return vni;
  }

  /** The connection is gone (or programmed anew): its VNI is free again. */
  release(connId: string): void {
    const v = this.byConn.get(connId);
    if (v === undefined) return;
    this.byConn.delete(connId);
    const u = this.users.get(v);
    u?.delete(connId);
    if (u && u.size === 0) this.users.delete(v);
  }

  get size(): number {
    return this.byConn.size;
  }
}
