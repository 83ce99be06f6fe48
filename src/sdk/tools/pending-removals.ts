// Link removals still running in the background (a Close does not wait for the kernel's ~16 ms veth
// deletion): a data plane guarded by them creates or inspects a link only after any pending removal
// of a link with the same name in the same namespace has finished, so names are reused safely.
import type { ForwarderDataplane, ProgrammedLink } from './forwarder-dataplane.js';

const keyOf = (netns: string | undefined, name: string) => `${netns ?? ''}\u0000${name}`;

export class PendingRemovals {
  private readonly pending = new Map<string, Promise<unknown>>();

  /** Records `removal` for each link until it settles. */
  track(links: ProgrammedLink[], removal: Promise<unknown>): void {
    const settled = removal.catch(() => undefined);
    for (const l of links) {
      const k = keyOf(l.netns, l.name);
      this.pending.set(k, settled);
      void settled.then(() => {
        if (this.pending.get(k) === settled) this.pending.delete(k);
      });
    }
  }

  /** Resolves when no removal of these (netns, name) pairs is pending. */
  async wait(...links: { netns: string | undefined; name: string }[]): Promise<void> {
    await this.pendingFor(links);
  }

  /** What the removals of these pairs settle on; undefined when none is pending (nothing to wait for). */
  private pendingFor(links: { netns: string | undefined; name: string }[]): Promise<unknown> | undefined {
    const ps = links.map((l) => this.pending.get(keyOf(l.netns, l.name))).filter((p) => p !== undefined);
    return ps.length > 0 ? Promise.all(ps) : undefined;
  }

  /** `create` once no removal of these pairs is pending: right away (in this call) when none is. */
  private after<T>(links: { netns: string | undefined; name: string }[], create: () => Promise<T>): Promise<T> {
    const p = this.pendingFor(links);
    if (p) return p.then(create);
    try {
      return create();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err))); // as from an async function: a data plane that throws at once still rejects
    }
  }

  get size(): number {
    return this.pending.size;
  }

  /** `dp` whose link creations and lookups first wait for pending removals of the same names. */
  guard(dp: ForwarderDataplane): ForwarderDataplane {
    const createVeth: ForwarderDataplane['createVeth'] = (spec) =>
      this.after([{ netns: spec.netns, name: spec.name }, { netns: spec.peerNetns, name: spec.peerName }], () => dp.createVeth(spec));
    const createVxlan: ForwarderDataplane['createVxlan'] = (spec) =>
      this.after([{ netns: spec.netns, name: spec.name }, { netns: spec.targetNetns, name: spec.name }], () => dp.createVxlan(spec));
    const linkInfo: ForwarderDataplane['linkInfo'] = async (netns, name) => {
      await this.wait({ netns, name });
      return dp.linkInfo?.(netns, name);
    };
    const earlierLinks: ForwarderDataplane['earlierLinks'] = async (alias, ends) => {
      await this.wait(...ends);
      return dp.earlierLinks?.(alias, ends);
    };
    const own: Partial<ForwarderDataplane> = { createVeth, createVxlan, ...(dp.linkInfo ? { linkInfo } : {}), ...(dp.earlierLinks ? { earlierLinks } : {}) };
    // Everything else is the data plane's own (methods bound to it, so class-based fakes keep their state).
    return new Proxy(dp, {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && prop in own) return own[prop as keyof ForwarderDataplane];
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}
