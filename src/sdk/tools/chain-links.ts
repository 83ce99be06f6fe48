// chain-links (forwarder): learns which endpoints are links of a service function chain, i.e. request onward
// through this same forwarder while their own Request is still pending here (a passthrough: its onward Request's
// path starts with its own name). Links made ahead of such an endpoint's answer must not hold up this forwarder's
// thread (the onward Request would wait for them): program-dataplane sends them from a worker thread instead; and a
// Request pending at a chain link does not count as other work when the onward Request's links are made.
// Pure bookkeeping; bounded (the oldest names are forgotten first).

export class ChainLinks {
  /** Endpoints with a Request pending at this forwarder, with how many. */
  private readonly pending = new Map<string, number>();
  /** Endpoints seen to request onward while their Request was pending (insertion order = age). */
  private readonly links = new Set<string>();

  constructor(private readonly max = 1024) {}

  /** A Request to `endpoint` leaves for it; call the returned function when it is answered (or failed). */
  pendingAt(endpoint: string | undefined): () => void {
    if (!endpoint) return () => undefined;
    this.pending.set(endpoint, (this.pending.get(endpoint) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.pending.get(endpoint) ?? 1) - 1;
      if (n > 0) this.pending.set(endpoint, n);
      else this.pending.delete(endpoint);
    };
  }

  /** A Request arrives from the client `origin` (the first segment of its path): an endpoint of that name with a Request pending here is a chain link. */
  arrived(origin: string | undefined): void {
    if (!origin || !this.pending.has(origin)) return;
    this.links.delete(origin);
    this.links.add(origin);
    if (this.links.size > this.max) this.links.delete(this.links.values().next().value!);
  }

  /**
   * How many of the Requests pending here wait for a chain link: such a Request waits for the onward Requests it
   * brings (which come through here), not competing with them, so it does not make this forwarder busy.
   */
  pendingAtLinks(): number {
    let n = 0;
    for (const [endpoint, count] of this.pending) if (this.links.has(endpoint)) n += count;
    return n;
  }

  /** Whether `endpoint` was seen requesting onward through this forwarder. */
  isLink(endpoint: string | undefined): boolean {
    return !!endpoint && this.links.has(endpoint);
  }
}
