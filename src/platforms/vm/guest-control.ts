// The host's end of an endpoint VM's control channel: qemu's unix socket behind the guest's ttyS1.
// Sends one command per line (`<seq> <op> <args>`, see GUEST_CONTROL_LOOP) and resolves each with the
// guest's `<seq> ok`, rejects it with the guest's `<seq> err ...`; hello() waits until the guest serves.
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

export type GuestOp =
  | { op: 'addr-add' | 'addr-del'; cidr: string }
  | { op: 'route-replace'; prefix: string; via?: string; src?: string; mtu?: number }
  | { op: 'route-del'; prefix: string }
  | { op: 'mtu'; mtu: number }
  | { op: 'prime'; src: string; dst: string };

const ARG = /^[0-9a-fA-F.:/]+$/;

/** The command line for `op` (without the sequence number); throws on an argument the guest would refuse. */
export function guestCommand(op: GuestOp): string {
  const arg = (v: string | number | undefined) => {
    if (v === undefined) return '-';
    const s = String(v);
    if (!ARG.test(s)) throw new Error(`guest command argument ${JSON.stringify(s)} is not an address or number`);
    return s;
  };
  switch (op.op) {
    case 'addr-add':
      return `A ${arg(op.cidr)}`;
    case 'addr-del':
      return `a ${arg(op.cidr)}`;
    case 'route-replace':
      return `R ${arg(op.prefix)} ${arg(op.via)} ${arg(op.src)} ${arg(op.mtu)}`;
    case 'route-del':
      return `r ${arg(op.prefix)}`;
    case 'mtu':
      return `M ${arg(op.mtu)}`;
    case 'prime':
      return `P ${arg(op.src)} ${arg(op.dst)}`;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class GuestControl {
  private sock: Socket | undefined;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private ready = false;

  constructor(private readonly path: string, private readonly timeoutMs = 20_000) {}

  /** Connects (qemu creates the socket at start) and waits until the guest answers a hello. */
  async hello(signal: AbortSignal): Promise<void> {
    while (!this.sock) {
      signal.throwIfAborted();
      this.sock = await new Promise<Socket | undefined>((resolve) => {
        const s = connect(this.path);
        s.once('connect', () => resolve(s));
        s.once('error', () => resolve(undefined));
      });
      if (!this.sock) await sleep(100);
    }
    this.sock.on('error', () => this.failAll(new Error('control channel error')));
    this.sock.on('close', () => this.failAll(new Error('control channel closed')));
    createInterface({ input: this.sock }).on('line', (l) => this.onLine(l.trim()));
    // The guest may have printed "0 ready" before we connected: say hello until it answers.
    while (!this.ready) {
      signal.throwIfAborted();
      const seq = ++this.seq;
      this.sock.write(`${seq} H\n`);
      const answered = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.waiting.delete(seq);
          resolve(false);
        }, 1000);
        this.waiting.set(seq, { resolve: () => resolve(true), reject: () => resolve(false), timer });
      });
      if (answered) this.ready = true;
    }
  }

  /** Runs one command in the guest. */
  async run(op: GuestOp): Promise<void> {
    const line = guestCommand(op);
    if (!this.sock || !this.ready) throw new Error('the guest does not serve commands yet');
    const seq = ++this.seq;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        reject(new Error(`guest did not answer "${line}" within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting.set(seq, { resolve, reject, timer });
      this.sock!.write(`${seq} ${line}\n`);
    });
  }

  close(): void {
    this.sock?.destroy();
  }

  private onLine(line: string): void {
    const m = /^(\d+) (ok|err|ready)\b ?(.*)$/.exec(line);
    if (!m) return;
    if (m[2] === 'ready') return;
    const w = this.waiting.get(Number(m[1]));
    if (!w) return;
    this.waiting.delete(Number(m[1]));
    clearTimeout(w.timer);
    if (m[2] === 'ok') w.resolve();
    else w.reject(new Error(`guest: ${m[3] || 'failed'}`));
  }

  private failAll(err: Error): void {
    for (const [seq, w] of this.waiting) {
      clearTimeout(w.timer);
      this.waiting.delete(seq);
      w.reject(err);
    }
  }
}
