// Namespace dumps shared by many callers: the first asker of a namespace starts one dump, the
// others wait for it, and it is reused for `maxAgeMs` (a heal storm after a forwarder restart
// checks its links of 1,000 connections against one dump per namespace, not a command each).
import type { NetnsDump } from './netns-dump.js';

export class DumpCache {
  private readonly entries = new Map<string, { at: number; dump: Promise<NetnsDump> }>();

  constructor(
    private readonly dump: (netns: string) => Promise<NetnsDump>,
    private readonly maxAgeMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A dump of `netns` at most `maxAgeMs` old (started now when there is none). */
  get(netns: string): Promise<NetnsDump> {
    const t = this.now();
    const hit = this.entries.get(netns);
    if (hit && t - hit.at < this.maxAgeMs) return hit.dump;
    const dump = this.dump(netns);
    const entry = { at: t, dump };
    this.entries.set(netns, entry);
    // A failed dump is not kept: the next asker tries again.
    dump.catch(() => {
      if (this.entries.get(netns) === entry) this.entries.delete(netns);
    });
    return dump;
  }

  /** Forgets every dump (e.g. once no link of an earlier life is left to check). */
  clear(): void {
    this.entries.clear();
  }
}
