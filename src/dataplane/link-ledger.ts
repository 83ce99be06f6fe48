// A forwarder's ledger of the links it creates, kept in an append-only file (one
// JSON line per link intended or removed, compacted at start; mode 0600). A link is
// recorded (a completed write(2), which survives the process being killed) before it
// is created, so a forwarder killed at any point (even between `ip link add` and tagging the link with its
// alias) knows after a restart exactly which interfaces may be its own: the ones its
// connections ask for again are adopted, the rest removed after a grace period.
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { EarlierLink, ForwarderDataplane } from '../sdk/networkservice/program-dataplane.js';
import type { NetnsDump } from './netns-dump.js';

interface LedgerLink {
  netns: string;
  name: string;
  alias: string;
}

const keyOf = (l: { netns: string; name: string }) => `${l.netns}|${l.name}`;

export class LinkLedger {
  private readonly links = new Map<string, LedgerLink>();
  /** The keys of `links` by alias (linksTagged: one connection's links without a scan of every link). */
  private readonly byAlias = new Map<string, Set<string>>();
  /** Links found in the file at start that nobody has re-created yet. */
  private readonly orphans = new Map<string, LedgerLink>();
  private fd: number | undefined;
  private claims = 0;

  constructor(
    private readonly file: string,
    private readonly log?: Logger,
  ) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // no ledger yet: nothing to adopt
    }
    for (const line of text.split('\n')) {
      try {
        const entry = JSON.parse(line) as LedgerLink & { removed?: boolean };
        if (entry.removed) this.forget(keyOf(entry));
        else this.remember({ netns: entry.netns, name: entry.name, alias: entry.alias });
      } catch {
        // an empty or torn line (crash mid-write): skip it
      }
    }
    for (const [k, l] of this.links) this.orphans.set(k, l);
    this.compact();
  }

  /** How many links of an earlier life are still waiting to be adopted. */
  get orphanCount(): number {
    return this.orphans.size;
  }

  /** How many links of an earlier life have been claimed (re-created or adopted) so far. */
  get claimedCount(): number {
    return this.claims;
  }

  /** Whether the ledger holds this link under this alias (created, or about to be, for that connection). */
  holds(l: LedgerLink): boolean {
    return this.links.get(keyOf(l))?.alias === l.alias;
  }

  added(l: LedgerLink): void {
    const known = this.links.get(keyOf(l));
    if (this.orphans.delete(keyOf(l))) this.claims++;
    if (known?.alias === l.alias) return;
    this.remember(l);
    this.append(l);
  }

  removed(l: { netns: string; name: string }): void {
    if (!this.forget(keyOf(l))) return;
    this.orphans.delete(keyOf(l));
    this.append({ netns: l.netns, name: l.name, removed: true });
  }

  /**
   * Removes the links of an earlier life that no connection asked for again: each one that
   * carries its recorded alias, or no alias at all (killed before tagging it); a link that
   * meanwhile carries another alias is someone else's and is left alone.
   */
  async sweep(dp: Pick<ForwarderDataplane, 'deleteLink' | 'linkInfo'>): Promise<number> {
    const stale = [...this.orphans.values()];
    let removed = 0;
    for (const l of stale) {
      if (!this.orphans.has(keyOf(l))) continue; // adopted meanwhile
      const found = dp.linkInfo ? await dp.linkInfo(l.netns, l.name).catch(() => undefined) : undefined;
      if (!dp.linkInfo || (found && (!found.alias || found.alias === l.alias))) {
        await dp.deleteLink(l.netns, l.name).catch(() => false);
        removed++;
        this.log?.info({ netns: l.netns, name: l.name, alias: l.alias, tagged: !!found?.alias }, 'removed interface left by an earlier forwarder');
      }
      this.removed(l);
    }
    return removed;
  }

  /**
   * The links `ends` as `dump` shows them, when `ends[0]` is a link of an earlier life recorded for
   * `alias` that nobody has claimed yet and every end still carries `alias` (then the recorded ones are claimed).
   */
  async earlierLinks(alias: string, ends: { netns: string; name: string }[], dump: (netns: string) => Promise<NetnsDump>): Promise<EarlierLink[] | undefined> {
    const first = ends[0] && this.orphans.get(keyOf(ends[0]));
    if (first?.alias !== alias) return undefined;
    const found = await Promise.all(ends.map(async (e) => (await dump(e.netns)).links.get(e.name)));
    if (!found.every((l) => l?.alias === alias) || this.orphans.get(keyOf(first)) !== first) return undefined;
    for (const e of ends) {
      const o = this.orphans.get(keyOf(e));
      if (o?.alias === alias) this.added(o);
    }
    return found.map((l) => ({
      alias,
      up: l!.up,
      addrs: l!.addrs,
      routes: l!.routes,
      proxies: l!.proxies,
      ...(l!.kind ? { kind: l!.kind } : {}),
      ...(l!.vni !== undefined ? { vni: l!.vni } : {}),
      ...(l!.remote ? { remote: l!.remote } : {}),
    }));
  }

  /**
   * Wraps a dataplane so every link it creates is recorded first and every link it deletes is forgotten.
   * With `dump` (one namespace's interfaces, addresses and routes, shared by callers) it also answers
   * `earlierLinks`, so a restarted forwarder checks its links of an earlier life without a command each.
   */
  track(dp: ForwarderDataplane, dump?: (netns: string) => Promise<NetnsDump>): ForwarderDataplane {
    /** Records the link before `create`; forgets it again if this attempt failed and the record was new. */
    const intend = async (l: LedgerLink, create: () => Promise<void>): Promise<void> => {
      const had = this.holds(l);
      this.added(l);
      try {
        await create();
      } catch (err) {
        if (!had) this.removed(l);
        throw err;
      }
    };
    return {
      createVeth: (spec) => intend({ netns: spec.netns, name: spec.name, alias: spec.alias }, () => dp.createVeth(spec)),
      createVxlan: (spec) => intend({ netns: spec.targetNetns, name: spec.name, alias: spec.alias }, () => dp.createVxlan(spec)),
      addAddress: (netns, ifname, cidr) => dp.addAddress(netns, ifname, cidr),
      addRoute: (netns, route) => dp.addRoute(netns, route),
      ...(dp.ipLines ? { ipLines: dp.ipLines.bind(dp) } : {}),
      ...(dp.setVxlanRemote ? { setVxlanRemote: dp.setVxlanRemote.bind(dp) } : {}),
      ...(dp.addLinkLocal ? { addLinkLocal: dp.addLinkLocal.bind(dp) } : {}),
      ...(dp.setSysctl ? { setSysctl: dp.setSysctl.bind(dp) } : {}),
      ...(dp.deviceOf ? { deviceOf: dp.deviceOf.bind(dp) } : {}),
      ...(dump ? { earlierLinks: (alias: string, ends: { netns: string; name: string }[]) => this.earlierLinks(alias, ends, dump) } : {}),
      linksTagged: (alias) => this.tagged(alias),
      ...(dp.linkInfo
        ? {
            linkInfo: async (netns: string, name: string) => {
              const found = await dp.linkInfo!(netns, name);
              // A link of an earlier life seen again under its tag is about to be adopted (or deleted
              // and re-created, which the ledger records too): it is no longer an orphan to sweep.
              const known = this.links.get(keyOf({ netns, name }));
              if (found && known && found.alias === known.alias) this.added(known);
              return found;
            },
          }
        : {}),
      deleteLink: async (netns, name) => {
        const existed = await dp.deleteLink(netns, name);
        this.removed({ netns, name });
        return existed;
      },
    };
  }

  /** The links recorded under `alias` (one connection's), in the order they were recorded. */
  tagged(alias: string): { netns: string; name: string }[] {
    const keys = this.byAlias.get(alias);
    if (!keys) return [];
    return [...keys].map((k) => this.links.get(k)!).map(({ netns, name }) => ({ netns, name }));
  }

  private remember(l: LedgerLink): void {
    const k = keyOf(l);
    this.forget(k);
    this.links.set(k, l);
    let keys = this.byAlias.get(l.alias);
    if (!keys) this.byAlias.set(l.alias, (keys = new Set()));
    keys.add(k);
  }

  /** Drops a link from the record; false when it was not there. */
  private forget(k: string): boolean {
    const l = this.links.get(k);
    if (!l) return false;
    this.links.delete(k);
    const keys = this.byAlias.get(l.alias);
    keys?.delete(k);
    if (keys?.size === 0) this.byAlias.delete(l.alias);
    return true;
  }

  /** Closes the file. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * Appends one line with a synchronous write(2): once it returns, the line is in the kernel's page
   * cache and survives a SIGKILL of this process. No fsync: it would only guard against a machine
   * crash, which takes every link (and namespace) with it anyway, and it costs ~3 ms per Request.
   */
  private append(entry: object): void {
    this.fd ??= openSync(this.file, 'a', 0o600);
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
  }

  /** Rewrites the file with only the links recorded now. */
  private compact(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, [...this.links.values()].map((l) => `${JSON.stringify(l)}\n`).join(''), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}
