// Keeps a mesh's components running like a node agent: polls each process, restarts a dead one
// with exponential backoff (0.5 s .. 10 s, reset after 30 s of life) and counts restarts in the state file.
import type { Logger } from 'pino';
import { isAlive, spawnComponent } from './proc.js';
import { writeState, type MeshState } from './state.js';
import { startSvidRotation } from './mesh-security.js';

const POLL_MS = 500;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const STABLE_MS = 30_000;

export class Supervisor {
  private timer: NodeJS.Timeout | undefined;
  private stopRotation: () => void = () => {};
  private readonly failures = new Map<string, number>();
  private readonly due = new Map<string, number>();

  constructor(
    private readonly state: MeshState,
    private readonly log: Logger,
    private readonly onRestart: (component: string, restarts: number) => void = () => {},
  ) {}

  start(): void {
    this.stopRotation = startSvidRotation(this.state.plan, this.log, true);
    this.timer = setInterval(() => void this.tick().catch((err) => this.log.error({ err }, 'supervisor tick failed')), POLL_MS);
  }

  stop(): void {
    this.stopRotation();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    let changed = false;
    for (const c of this.state.plan.components) {
      const proc = this.state.procs[c.name];
      if (isAlive(proc)) continue;
      const now = Date.now();
      const due = this.due.get(c.name);
      if (due === undefined) {
        const lived = proc ? now - Date.parse(proc.startedAt) : 0;
        const n = lived > STABLE_MS ? 0 : (this.failures.get(c.name) ?? 0);
        this.failures.set(c.name, n + 1);
        const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** n);
        this.due.set(c.name, now + delay);
        this.log.warn({ component: c.name, pid: proc?.pid, delayMs: delay }, 'component died; restarting');
        continue;
      }
      if (now < due || !this.timer) continue;
      this.due.delete(c.name);
      const restarts = (proc?.restarts ?? 0) + 1;
      this.state.procs[c.name] = spawnComponent(this.state.plan, c, restarts);
      this.log.info({ component: c.name, pid: this.state.procs[c.name]!.pid, restarts }, 'component restarted');
      this.onRestart(c.name, restarts);
      changed = true;
    }
    if (changed) await writeState(this.state);
  }
}
