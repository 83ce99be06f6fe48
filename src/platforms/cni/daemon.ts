// The per-node CNI daemon: owns the mesh connections the plugin asks for (the plugin process lives for
// one call; the connections must be refreshed and healed for the container's life). Serves the plugin
// protocol on a unix socket; one operation per attachment at a time; closes everything on stop.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Connection } from '../../api/index.js';
import { messageOf, Status, statusOf } from '../../api/errors.js';
import type { CniRequestSpec } from './config.js';
import { CniCode, CniError, asCniError } from './errors.js';
import { deleteInterfaces, interfaces, netnsExists, type InterfaceInfo } from './check-netns.js';
import { attachmentKey, type AttachmentRequest, type DaemonError } from './protocol.js';
import { buildResult, type CniResult } from './result.js';

/** How the daemon reaches the mesh (a MeshClient per nsmgr in production, a fake in unit tests). */
export interface MeshConnector {
  request(nsmgr: string, spec: CniRequestSpec, netnsUrl: string, timeoutMs: number): Promise<Connection>;
  close(nsmgr: string, conn: Connection, timeoutMs: number): Promise<void>;
  /** The config's service URLs as requests with interface names (a CniError with code 7 when one is bad). */
  parseRequests(urls: string[], cniIfname: string): CniRequestSpec[];
  /** Drops clients and channels (daemon stop). */
  shutdown?(): Promise<void>;
}

interface Attachment {
  key: string;
  req: AttachmentRequest;
  conns: { ifname: string; connection: Connection }[];
}

export interface CniDaemonOptions {
  socket: string;
  connector: MeshConnector;
  log: Logger;
  /** How often to look for attachments whose namespace vanished without a DEL (default 30 s; 0 disables). */
  sweepIntervalMs?: number;
}

export class CniDaemon {
  private readonly attachments = new Map<string, Attachment>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private server?: Server;
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly opts: CniDaemonOptions) {}

  /** A connection healed or refreshed with new content (the connector calls this). */
  updateConnection(conn: Connection): void {
    for (const a of this.attachments.values()) {
      const c = a.conns.find((x) => x.connection.id === conn.id);
      if (c) c.connection = conn;
    }
  }

  get size(): number {
    return this.attachments.size;
  }

  async listen(): Promise<void> {
    await mkdir(dirname(this.opts.socket), { recursive: true });
    await rm(this.opts.socket, { force: true });
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.socket, () => resolve());
    });
    await chmod(this.opts.socket, 0o600);
    this.server = server;
    const every = this.opts.sweepIntervalMs ?? 30_000;
    if (every > 0) this.sweeper = setInterval(() => void this.sweep(), every).unref();
  }

  /**
   * Closes the attachments whose namespace is gone without a DEL (a runtime that crashed or skipped it):
   * their connections would otherwise be refreshed forever. Returns the keys removed.
   */
  async sweep(): Promise<string[]> {
    const gone = [...this.attachments.values()].filter((a) => !netnsExists(a.req.netns));
    await Promise.all(
      gone.map((a) =>
        this.serialize(a.key, async () => {
          if (this.attachments.get(a.key) !== a || netnsExists(a.req.netns)) return;
          this.attachments.delete(a.key);
          const closed = await this.closeAll(a);
          this.opts.log.info({ attachment: a.key, closed }, 'namespace gone without DEL: connections closed');
        }),
      ),
    );
    return gone.map((a) => a.key);
  }

  /** Closes every connection it holds, then the socket. */
  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    await Promise.all([...this.attachments.values()].map((a) => this.closeAll(a)));
    this.attachments.clear();
    await rm(this.opts.socket, { force: true });
    await this.opts.connector.shutdown?.();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    try {
      if (req.method !== 'POST') throw new CniError(CniCode.InvalidConfig, `${req.method} ${req.url}: only POST`);
      let text = '';
      for await (const chunk of req) text += String(chunk);
      let body: AttachmentRequest;
      try {
        body = JSON.parse(text) as AttachmentRequest;
      } catch {
        throw new CniError(CniCode.DecodeFailure, 'request body is not JSON');
      }
      const gone = () => res.destroyed || req.socket.destroyed;
      let out: unknown;
      if (req.url === '/v1/add') out = await this.serialize(attachmentKey(body), () => this.add(body, gone));
      else if (req.url === '/v1/del') out = await this.serialize(attachmentKey(body), () => this.del(body));
      else if (req.url === '/v1/check') out = await this.serialize(attachmentKey(body), () => this.check(body));
      else throw new CniError(CniCode.InvalidConfig, `unknown path ${req.url}`);
      reply(200, out ?? {});
    } catch (err) {
      const e = asCniError(err);
      const body: DaemonError = { code: e.code, msg: e.message, ...(e.details ? { details: e.details } : {}) };
      reply(e.code === CniCode.TryAgainLater ? 503 : 400, body);
    }
  }

  /** Runs operations on one attachment one after another (a DEL racing its ADD waits for it). */
  private serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private async add(r: AttachmentRequest, callerGone: () => boolean): Promise<CniResult> {
    const key = attachmentKey(r);
    const log = this.opts.log.child({ attachment: key });
    if (!netnsExists(r.netns)) throw new CniError(CniCode.UnknownContainer, `network namespace ${r.netns} does not exist (container gone?)`);
    // A repeated ADD replaces the attachment (a runtime retrying after a timeout).
    const old = this.attachments.get(key);
    if (old) {
      log.info('ADD again: closing the previous connections first');
      await this.closeAll(old);
      this.attachments.delete(key);
    }
    const specs = this.opts.connector.parseRequests(r.requests, r.ifname);
    const a: Attachment = { key, req: r, conns: [] };
    try {
      for (const spec of specs) {
        const connection = await this.opts.connector.request(r.nsmgr, spec, `file://${r.netns}`, r.timeoutMs);
        a.conns.push({ ifname: spec.ifname, connection });
        log.info({ connId: connection.id, service: spec.service, ifname: spec.ifname }, 'connection up');
      }
    } catch (err) {
      await this.closeAll(a);
      throw requestError(err, r);
    }
    if (callerGone()) {
      log.warn('the plugin went away before ADD finished: closing what was made');
      await this.closeAll(a);
      throw new CniError(CniCode.TryAgainLater, 'the plugin went away before ADD finished');
    }
    this.attachments.set(key, a);
    // Runtimes (podman) want each interface's MAC in the result.
    const have = await interfaces(r.netns).catch(() => new Map<string, InterfaceInfo>());
    const macs = Object.fromEntries(a.conns.map((c) => [c.ifname, have.get(c.ifname)?.mac ?? '']));
    return buildResult(a.conns, r.netns, r.cniVersion, r.prevResult, macs);
  }

  /** Idempotent: an unknown attachment (DEL twice, never added, daemon restarted) is success. */
  private async del(r: AttachmentRequest): Promise<{ closed: string[] }> {
    const key = attachmentKey(r);
    const a = this.attachments.get(key);
    if (!a) {
      this.opts.log.info({ attachment: key }, 'DEL of an unknown attachment: nothing to do');
      return { closed: [] };
    }
    this.attachments.delete(key);
    const ifnames = a.conns.map((c) => c.ifname);
    const closed = await this.closeAll(a);
    // After a Close the forwarder has removed the interfaces; any still there were left by a mesh that
    // went away (Close cannot reach a dead forwarder, and a client's Close does not fail for that).
    const leftover = await deleteInterfaces(r.netns || a.req.netns, ifnames).catch(() => [] as string[]);
    if (leftover.length > 0) this.opts.log.warn({ attachment: key, leftover }, 'removed interfaces the mesh left behind');
    this.opts.log.info({ attachment: key, closed }, 'attachment removed');
    return { closed };
  }

  private async check(r: AttachmentRequest): Promise<Record<string, never>> {
    const key = attachmentKey(r);
    const a = this.attachments.get(key);
    if (!a) throw new CniError(CniCode.UnknownAttachment, `no attachment ${key}: ADD was never called or DEL came first`);
    if (!netnsExists(r.netns)) throw new CniError(CniCode.UnknownContainer, `network namespace ${r.netns} does not exist`);
    const have = await interfaces(r.netns);
    for (const c of a.conns) {
      const addrs = have.get(c.ifname)?.addrs;
      if (!addrs) throw new CniError(CniCode.InterfaceMissing, `interface ${c.ifname} (connection ${c.connection.id}) is missing in ${r.netns}`);
      for (const want of c.connection.context?.ipContext?.srcIpAddrs ?? []) {
        if (!addrs.includes(want)) throw new CniError(CniCode.InterfaceMissing, `interface ${c.ifname} lacks address ${want} (has ${addrs.join(', ') || 'none'})`);
      }
    }
    return {};
  }

  /** Closes each connection; a mesh that restarted meanwhile makes Close fail, which is logged, not fatal. */
  private async closeAll(a: Attachment): Promise<string[]> {
    const closed: string[] = [];
    await Promise.all(
      a.conns.map(async ({ connection }) => {
        try {
          await this.opts.connector.close(a.req.nsmgr, connection, a.req.timeoutMs);
          closed.push(connection.id);
        } catch (err) {
          this.opts.log.warn({ connId: connection.id, err: messageOf(err) }, 'close failed (mesh restarted or gone?); its interface expires with the connection');
        }
      }),
    );
    a.conns = [];
    return closed;
  }
}

/** The mesh's refusal as a CNI error: transient states are "try again later", bad input is "invalid config". */
export function requestError(err: unknown, r: Pick<AttachmentRequest, 'nsmgr'>): CniError {
  const msg = messageOf(err);
  switch (statusOf(err)) {
    case Status.UNAVAILABLE:
    case Status.DEADLINE_EXCEEDED:
    case Status.RESOURCE_EXHAUSTED:
    case Status.ABORTED:
      return new CniError(CniCode.TryAgainLater, `the mesh is not ready (nsmgr ${r.nsmgr}): ${msg}`);
    case Status.NOT_FOUND:
      // Endpoints register at any time: the runtime's retry may find one.
      return new CniError(CniCode.TryAgainLater, msg);
    case Status.INVALID_ARGUMENT:
      return new CniError(CniCode.InvalidConfig, `the mesh refused the request: ${msg}`);
    default:
      return new CniError(CniCode.RequestFailed, msg);
  }
}
