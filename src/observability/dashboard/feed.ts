// The dashboard's live data: calls an injected loader (status + monitor streams) every `intervalMs`
// and at once when a watched directory changes (clients append a line there on every state change),
// and hands each changed view to the subscribers (the server's event streams).
import { watch, type FSWatcher } from 'node:fs';
import { dashboardView, type DashboardView } from './graph.js';
import type { DashInput } from './types.js';

export interface DashboardFeedOptions {
  load: () => Promise<DashInput>;
  intervalMs?: number;
  /** Directories whose changes trigger an immediate refresh (e.g. the mesh's logs dir). */
  watchDirs?: string[];
  /** Only these file names in the watched directories trigger a refresh (default: any). */
  watchFilter?: (file: string) => boolean;
  onError?: (err: unknown) => void;
}

type Listener = (view: DashboardView) => void;

export class DashboardFeed {
  private view: DashboardView | undefined;
  private key = '';
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private watchers: FSWatcher[] = [];
  private running = false;
  private again = false;
  private stopped = false;

  constructor(private readonly opts: DashboardFeedOptions) {}

  start(): void {
    for (const dir of this.opts.watchDirs ?? []) {
      try {
        this.watchers.push(watch(dir, (_ev, file) => (!this.opts.watchFilter || (file && this.opts.watchFilter(file))) && this.refreshSoon()));
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watchers.forEach((w) => w.close());
    this.watchers = [];
    this.listeners.clear();
  }

  /** The latest view (undefined until the first load finished). */
  current(): DashboardView | undefined {
    return this.view;
  }

  /** Calls `fn` with every changed view (and at once with the current one); returns the unsubscribe. */
  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    if (this.view) fn(this.view);
    return () => this.listeners.delete(fn);
  }

  /** Waits for the first view. */
  async ready(): Promise<DashboardView> {
    if (this.view) return this.view;
    return new Promise((resolve) => {
      const off = this.subscribe((v) => (off(), resolve(v)));
    });
  }

  private publish(view: DashboardView): void {
    // The time changes on every load: compare the rest.
    const key = JSON.stringify({ ...view, time: 0 });
    if (key === this.key) return;
    this.key = key;
    this.view = view;
    for (const l of this.listeners) l(view);
  }

  private refreshSoon(): void {
    if (this.running) this.again = true;
    else void this.refresh();
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.running = true;
    try {
      this.publish(dashboardView(await this.opts.load()));
    } catch (err) {
      this.opts.onError?.(err);
      // The page keeps the last view and says why it is not refreshed.
      const last = this.view ?? dashboardView({ status: undefined, monitored: [], errors: [], time: Date.now() });
      this.publish({ ...last, errors: [`cannot refresh: ${err instanceof Error ? err.message : String(err)}`] });
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      void this.refresh();
      return;
    }
    this.timer = setTimeout(() => void this.refresh(), this.opts.intervalMs ?? 500);
  }
}
