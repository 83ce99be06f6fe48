// The hot-path kernel operations (veth and VXLAN creation, alias/up, addresses, routes, proxy
// neighbours, deletion) as rtnetlink requests over one cached socket per namespace. Failures come back
// as IpCommandError with iproute2's wording, so KernelDriver maps them exactly as it maps ip's.
import type { Logger } from 'pino';
import { IpCommandError } from './ip-batch.js';
import { describeNetns, netnsKey, netnsPath, type NetnsRef } from './netns.js';
import { NLM_F, RTM, aliasUp, delLink, errnoText, getLink, eui64LinkLocal, linkAddressOf, linkIndexOf, newAddr, noLinkLocal, newRoute, proxyNeigh, vethNewLink, vxlanNewLink, vxlanSetRemote, type LinkEnd } from './rtnl-msg.js';
import { RtnlErrno, openRtnlSocket, rtnlSys, type RtnlSocket, type SendMode } from './rtnl-socket.js';

export interface RtnlDriverOptions {
  logger?: Logger;
  timeoutMs?: number;
  /** A socket of another namespace is closed after this long unused (default 5 s): it pins the namespace. */
  idleMs?: number;
  /** TX and RX queues of each veth end (none: the kernel's default, one per possible CPU; see vethNewLink). */
  vethQueues?: number;
}

const CREATE_EXCL = NLM_F.CREATE | NLM_F.EXCL;
const CREATE_REPLACE = NLM_F.CREATE | NLM_F.REPLACE;

/** rtnetlink for one process: sockets per namespace, reopened when the namespace behind a name changes. */
export class RtnlDriver {
  private readonly socks = new Map<string, { sock: RtnlSocket; id: string | undefined }>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly idleMs: number;

  /** A driver, or undefined when the FFI cannot load here (the caller keeps using ip). */
  static tryCreate(opts: RtnlDriverOptions = {}): RtnlDriver | undefined {
    try {
      rtnlSys();
      openRtnlSocket(undefined).close();
      return new RtnlDriver(opts);
    } catch (err) {
      opts.logger?.warn({ err: (err as Error).message }, 'rtnetlink unavailable: kernel operations go through ip');
      return undefined;
    }
  }

  private constructor(private readonly opts: RtnlDriverOptions) {
    this.idleMs = opts.idleMs ?? 5_000;
  }

  /**
   * Create a veth pair, both ends up, each directly in its namespace (the request goes from our own namespace).
   * `background`: sent from a worker thread (the kernel spends milliseconds on it; made ahead of need, nothing waits).
   */
  async createVeth(a: NetnsRef, aId: string | undefined, name: string, b: NetnsRef, bId: string | undefined, peer: string, mtu?: number, background = false): Promise<void> {
    const [sa, sb] = [this.sock(a, aId), this.sock(b, bId)];
    sa.indexes.delete(name);
    sb.indexes.delete(peer);
    const queues = this.opts.vethQueues;
    const end = (n: string, s: RtnlSocket): LinkEnd => ({ name: n, nsFd: s.nsFd, ...(mtu !== undefined ? { mtu } : {}), ...(queues !== undefined ? { queues } : {}) });
    const host = this.sock({ kind: 'host' }, undefined);
    // Both namespace files travel in a request on the host socket: lent until the kernel has answered.
    const back = [sa.lend(), sb.lend()];
    try {
      await this.run(host, { kind: 'host' }, `link add ${name} type veth peer name ${peer}`, RTM.NEWLINK, CREATE_EXCL, vethNewLink(end(name, sa), end(peer, sb)), background ? 'ahead' : 'inline');
    } finally {
      for (const b of back) b();
    }
  }

  /** Create a VXLAN interface whose underlay is `ns`, placed in `target`, up. */
  async createVxlan(
    ns: NetnsRef,
    nsId: string | undefined,
    target: NetnsRef,
    targetId: string | undefined,
    v: { name: string; vni: number; local: string; remote?: string; port: number; dev?: string; mtu?: number },
    background = false,
  ): Promise<void> {
    const s = this.sock(ns, nsId);
    const t = this.sock(target, targetId);
    t.indexes.delete(v.name);
    // Placed in another namespace, the request goes out on `s` carrying `t`'s file: lent until the kernel has answered.
    const back = t !== s ? t.lend() : undefined;
    try {
      const linkIndex = v.dev === undefined ? undefined : await this.index(s, ns, v.dev);
      const body = vxlanNewLink({
        name: v.name,
        vni: v.vni,
        local: v.local,
        ...(v.remote !== undefined ? { remote: v.remote } : {}),
        port: v.port,
        ...(linkIndex !== undefined ? { linkIndex } : {}),
        ...(v.mtu !== undefined ? { mtu: v.mtu } : {}),
        ...(t !== s ? { nsFd: t.nsFd } : {}),
      });
      await this.run(s, ns, `link add ${v.name} type vxlan id ${v.vni}${v.remote === undefined ? '' : ` remote ${v.remote}`}`, RTM.NEWLINK, CREATE_EXCL, body, background ? 'ahead' : 'inline');
    } finally {
      back?.();
    }
  }

  /** Set the peer (default destination) of a VXLAN link in `ns`. */
  async setVxlanRemote(ns: NetnsRef, id: string | undefined, name: string, remote: string): Promise<void> {
    await this.run(this.sock(ns, id), ns, `link set dev ${name} type vxlan remote ${remote}`, RTM.NEWLINK, 0, vxlanSetRemote(name, remote));
  }

  /**
   * Tag a link with its alias and bring it up. `noLinkLocal`: first stop the kernel from making it an IPv6
   * link-local address (and the routes, DAD and multicast reports that go with one) when it comes up;
   * addLinkLocal gives it the same address later, when its connection carries IPv6. `background`: from a worker
   * thread, as createVeth. Both in one send(2). Then the link's index is asked for the addresses and routes that
   * follow, the same way, without waiting for it (it is theirs to wait for, when they come before it).
   */
  async aliasUp(ns: NetnsRef, id: string | undefined, name: string, alias: string, opts: { background?: boolean; noLinkLocal?: boolean } = {}): Promise<void> {
    const s = this.sock(ns, id);
    const lane = opts.background ? 'ahead' : 'inline';
    const steps = [
      ...(opts.noLinkLocal ? [{ what: `link set dev ${name} addrgenmode none`, type: RTM.NEWLINK, flags: 0, body: noLinkLocal(name) }] : []),
      { what: `link set dev ${name} alias ${alias} up`, type: RTM.NEWLINK, flags: 0, body: aliasUp(name, alias) },
    ];
    const results = await Promise.allSettled(s.requestAll(steps, lane));
    // The kernel ran them in order; the first that failed says why (the one after it is then moot).
    for (const [i, r] of results.entries()) if (r.status === 'rejected') throw this.failure(ns, steps[i]!.what, r.reason);
    void this.index(s, ns, name, lane).catch(() => undefined);
  }

  /**
   * Give a link the IPv6 link-local address the kernel would have made itself (EUI-64 of its MAC), without
   * DAD, as `addr replace` (idempotent); nothing for a link without a MAC (the kernel makes none there either).
   */
  async addLinkLocal(ns: NetnsRef, id: string | undefined, ifname: string): Promise<void> {
    const s = this.sock(ns, id);
    const r = await this.run(s, ns, `link show dev ${ifname}`, RTM.GETLINK, 0, getLink(ifname));
    if (!r[0]) throw new IpCommandError(`link show dev ${ifname}`, 'no reply', describeNetns(ns));
    const mac = linkAddressOf(r[0]);
    if (mac?.length !== 6) return;
    const index = linkIndexOf(r[0]);
    const ll = eui64LinkLocal(mac);
    await this.run(s, ns, `addr replace ${ll}/64 dev ${ifname}`, RTM.NEWADDR, CREATE_REPLACE, newAddr(index, ll, 64));
  }

  /** `addr replace` (IPv6: without DAD, and published as a proxy NDP entry on the link). */
  async addAddress(ns: NetnsRef, id: string | undefined, ifname: string, address: string, prefixLen: number, v6: boolean): Promise<void> {
    const s = this.sock(ns, id);
    await this.withIndex(s, ns, ifname, (index) =>
      Promise.all([
        this.run(s, ns, `addr replace ${address}/${prefixLen} dev ${ifname}`, RTM.NEWADDR, CREATE_REPLACE, newAddr(index, address, prefixLen)),
        v6 ? this.run(s, ns, `neigh replace proxy ${address} dev ${ifname}`, RTM.NEWNEIGH, CREATE_REPLACE, proxyNeigh(index, address)) : undefined,
      ]),
    );
  }

  /** `route replace` in the main table. */
  async addRoute(ns: NetnsRef, id: string | undefined, r: { address: string; prefixLen: number; via?: string; dev: string; src?: string }): Promise<void> {
    const s = this.sock(ns, id);
    const line = `route replace ${r.address}/${r.prefixLen}${r.via ? ` via ${r.via}` : ''} dev ${r.dev}`;
    await this.withIndex(s, ns, r.dev, (index) => this.run(s, ns, line, RTM.NEWROUTE, CREATE_REPLACE, newRoute(index, r.address, r.prefixLen, r.via, r.src)));
  }

  /** Delete a link by name; false when there was none. */
  async deleteLink(ns: NetnsRef, id: string | undefined, name: string): Promise<boolean> {
    const s = this.sock(ns, id);
    s.indexes.delete(name);
    try {
      await this.run(s, ns, `link del dev ${name}`, RTM.DELLINK, 0, delLink(name), 'slow');
      return true;
    } catch (err) {
      if (err instanceof IpCommandError && /No such device/.test(err.stderr)) return false;
      throw err;
    }
  }

  /** Close the socket of one namespace (before the namespace is deleted: the socket pins it). */
  closeFor(ref: NetnsRef): void {
    const key = netnsKey(ref);
    this.socks.get(key)?.sock.close();
    this.socks.delete(key);
  }

  closeAll(): void {
    for (const { sock } of this.socks.values()) sock.close();
    this.socks.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** The interface index of `name` (asked once, then remembered until that name is made or deleted again). */
  private index(s: RtnlSocket, ns: NetnsRef, name: string, lane: SendMode = 'inline'): Promise<number> {
    let p = s.indexes.get(name);
    if (!p) {
      p = this.run(s, ns, `link show dev ${name}`, RTM.GETLINK, 0, getLink(name), lane).then((r) => {
        if (!r[0]) throw new IpCommandError(`link show dev ${name}`, 'no reply', describeNetns(ns));
        return linkIndexOf(r[0]);
      });
      const asked = p;
      s.indexes.set(name, asked);
      // A lookup that failed is forgotten (not a later one of a link made again under that name).
      asked.catch(() => s.indexes.get(name) === asked && s.indexes.delete(name));
    }
    return p;
  }

  /** Runs `fn` with the link's index; once more with a fresh index when the remembered one is gone (ENODEV). */
  private async withIndex<T>(s: RtnlSocket, ns: NetnsRef, name: string, fn: (index: number) => Promise<T>): Promise<T> {
    const cached = s.indexes.has(name);
    try {
      return await fn(await this.index(s, ns, name));
    } catch (err) {
      if (!cached || !(err instanceof IpCommandError) || !/No such device/.test(err.stderr)) throw err;
      s.indexes.delete(name);
      return fn(await this.index(s, ns, name));
    }
  }

  private async run(s: RtnlSocket, ns: NetnsRef, what: string, type: number, flags: number, body: Buffer, lane: SendMode = 'inline'): Promise<Buffer[]> {
    try {
      return await s.request(type, flags, body, lane);
    } catch (err) {
      throw this.failure(ns, what, err);
    }
  }

  /** A refusal of the kernel as ip would report it. */
  private failure(ns: NetnsRef, what: string, err: unknown): IpCommandError {
    const text = err instanceof RtnlErrno ? errnoText(err.errno, err.code, err.detail) : (err as Error).message;
    return new IpCommandError(what, text, describeNetns(ns));
  }

  /** The socket of a namespace: cached; reopened when the namespace under that name is a new one. */
  private sock(ref: NetnsRef, id: string | undefined): RtnlSocket {
    const key = netnsKey(ref);
    const cur = this.socks.get(key);
    if (cur && !cur.sock.isClosed && (id === undefined || cur.id === undefined || cur.id === id)) return cur.sock;
    cur?.sock.close();
    const sock = openRtnlSocket(ref.kind === 'host' ? undefined : netnsPath(ref), this.opts.timeoutMs);
    this.socks.set(key, { sock, id });
    if (ref.kind !== 'host') this.armSweeper();
    return sock;
  }

  /** Close sockets of other namespaces left unused for idleMs. */
  private armSweeper(): void {
    if (this.sweeper || this.idleMs <= 0) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [key, { sock }] of this.socks) {
        if (key !== 'host' && !sock.busy && now - sock.lastUsed >= this.idleMs) {
          sock.close();
          this.socks.delete(key);
        }
      }
      if ([...this.socks.keys()].every((k) => k === 'host')) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, Math.max(250, Math.floor(this.idleMs / 2)));
    this.sweeper.unref();
  }
}
