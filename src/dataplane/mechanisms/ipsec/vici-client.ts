// A small client of charon's vici socket: one request at a time over a unix socket,
// answered by CMD_RESPONSE (or CMD_UNKNOWN); events are not used. Commands that report
// failure with success=no reject with charon's errmsg.
import { connect, type Socket } from 'node:net';
import { decodePacket, encodePacket, PacketSplitter, PT, type ViciMessage, type ViciPacket } from './vici-wire.js';

export class ViciClient {
  private readonly splitter = new PacketSplitter();
  private queue: Promise<unknown> = Promise.resolve();
  private waiting: { resolve: (p: ViciPacket) => void; reject: (e: Error) => void } | undefined;
  private closedErr: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (chunk: Buffer) => {
      for (const body of this.splitter.push(chunk)) {
        let p: ViciPacket;
        try {
          p = decodePacket(body);
        } catch (err) {
          this.fail(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (p.type === PT.EVENT) continue;
        const w = this.waiting;
        this.waiting = undefined;
        w?.resolve(p);
      }
    });
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => this.fail(new Error('vici socket closed')));
  }

  /** Connects to a vici socket path. */
  static open(path: string, timeoutMs = 2000): Promise<ViciClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`vici ${path}: no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(new ViciClient(sock));
      });
      sock.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  private fail(err: Error): void {
    this.closedErr ??= err;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }

  /** Sends one command and resolves its response message (rejects on CMD_UNKNOWN or success=no). */
  request(command: string, message: ViciMessage = {}, timeoutMs = 10_000): Promise<ViciMessage> {
    const run = async (): Promise<ViciMessage> => {
      if (this.closedErr) throw this.closedErr;
      const answer = new Promise<ViciPacket>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`vici ${command}: no answer within ${timeoutMs} ms`)), timeoutMs);
        this.waiting = {
          resolve: (p) => (clearTimeout(timer), resolve(p)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        };
      });
      this.sock.write(encodePacket({ type: PT.CMD_REQUEST, name: command, message }));
      const p = await answer;
      if (p.type === PT.CMD_UNKNOWN) throw new Error(`vici: charon does not know the command ${command}`);
      if (p.type !== PT.CMD_RESPONSE) throw new Error(`vici ${command}: unexpected packet type ${p.type}`);
      if (p.message.success === 'no') throw new Error(`vici ${command}: ${typeof p.message.errmsg === 'string' ? p.message.errmsg : 'failed'}`);
      return p.message;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.sock.destroy();
  }
}
