// A forwarder's ledger of the links it created, kept in an append-only file (one
// JSON line per link added or removed, compacted at start) so that a restarted
// forwarder knows exactly which interfaces are its own: the ones its connections
// ask for again are adopted, the rest removed after a grace period.
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { ForwarderDataplane } from '../sdk/networkservice/program-dataplane.js';

interface LedgerLink {
  netns: string;
  name: string;
  alias: string;
}

const keyOf = (l: { netns: string; name: string }) => `${l.netns}|${l.name}`;

export class LinkLedger {
  private readonly links = new Map<string, LedgerLink>();
  /** Links found in the file at start that nobody has re-created yet. */
  private readonly orphans = new Map<string, LedgerLink>();

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
        if (entry.removed) this.links.delete(keyOf(entry));
        else this.links.set(keyOf(entry), { netns: entry.netns, name: entry.name, alias: entry.alias });
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

  added(l: LedgerLink): void {
    this.links.set(keyOf(l), l);
    this.orphans.delete(keyOf(l));
    this.append(l);
  }

  removed(l: { netns: string; name: string }): void {
    if (!this.links.delete(keyOf(l))) return;
    this.orphans.delete(keyOf(l));
    this.append({ netns: l.netns, name: l.name, removed: true });
  }

  /** Removes the links of an earlier life that no connection asked for again. */
  async sweep(dp: Pick<ForwarderDataplane, 'deleteLink'>): Promise<number> {
    const stale = [...this.orphans.values()];
    for (const l of stale) {
      await dp.deleteLink(l.netns, l.name).catch(() => false);
      this.removed(l);
      this.log?.info({ netns: l.netns, name: l.name, alias: l.alias }, 'removed interface left by an earlier forwarder');
    }
    return stale.length;
  }

  /** Wraps a dataplane so every link it creates or deletes is recorded. */
  track(dp: ForwarderDataplane): ForwarderDataplane {
    return {
      createVeth: async (spec) => {
        await dp.createVeth(spec);
        this.added({ netns: spec.netns, name: spec.name, alias: spec.alias });
      },
      createVxlan: async (spec) => {
        await dp.createVxlan(spec);
        this.added({ netns: spec.targetNetns, name: spec.name, alias: spec.alias });
      },
      addAddress: (netns, ifname, cidr) => dp.addAddress(netns, ifname, cidr),
      addRoute: (netns, route) => dp.addRoute(netns, route),
      linksTagged: (alias) => [...this.links.values()].filter((l) => l.alias === alias).map(({ netns, name }) => ({ netns, name })),
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

  private append(entry: object): void {
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }

  /** Rewrites the file with only the links recorded now. */
  private compact(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, [...this.links.values()].map((l) => `${JSON.stringify(l)}\n`).join(''));
    renameSync(tmp, this.file);
  }
}
