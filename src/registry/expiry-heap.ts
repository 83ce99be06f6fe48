// A binary min-heap of (name, time) expiry entries, earliest first; used by the
// memory store so one timer serves any number of items.

export interface ExpiryEntry {
  name: string;
  /** Milliseconds since the epoch. */
  at: number;
  /** Which put of `name` this entry belongs to (stale entries are skipped by the store). */
  seq: number;
}

export class ExpiryHeap {
  private readonly a: ExpiryEntry[] = [];

  get size(): number {
    return this.a.length;
  }

  peek(): ExpiryEntry | undefined {
    return this.a[0];
  }

  push(e: ExpiryEntry): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= e.at) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = e;
  }

  pop(): ExpiryEntry | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && a[r]!.at < a[l]!.at ? r : l;
      if (a[c]!.at >= last.at) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }

  clear(): void {
    this.a.length = 0;
  }
}
