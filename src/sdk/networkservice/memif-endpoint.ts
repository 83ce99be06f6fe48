// memif-endpoint (endpoint side): accepts the LOCAL/MEMIF mechanism offered by the forwarder, has
// the endpoint's application serve a memif socket for the connection (started once per connection)
// and returns where it is (socketfile, inodeURL file://PATH); Close (or a failed Request) stops it.
import { element, type NetworkServiceElement } from '../core/chain.js';
import { InvalidArgumentError } from '../../api/errors.js';
import { describeMechanisms, isMemif, memifMechanism, P } from '../tools/mechanisms.js';

/** The endpoint's per-connection memif applications (implemented with DPDK by src/dataplane/dpdk). */
export interface MemifApps {
  /** Starts (or finds) the connection's application; resolves its socket file once it is served. */
  start(connId: string): Promise<string>;
  stop(connId: string): Promise<void>;
}

export function memifEndpoint(apps: MemifApps): NetworkServiceElement {
  return element({
    async request(req, ctx, next) {
      const conn = req.connection!;
      const offered = req.mechanismPreferences.find(isMemif) ?? (isMemif(conn.mechanism) ? conn.mechanism : undefined);
      if (!offered) throw new InvalidArgumentError(`endpoint supports LOCAL/MEMIF only; offered: ${describeMechanisms(req.mechanismPreferences)}`);
      const socket = await apps.start(conn.id);
      conn.mechanism = memifMechanism({ [P.socketfile]: socket, [P.inodeURL]: `file://${socket}` });
      try {
        return await next.request(req, ctx);
      } catch (err) {
        await apps.stop(conn.id).catch(() => undefined);
        throw err;
      }
    },
    async close(conn, ctx, next) {
      try {
        await next.close(conn, ctx);
      } finally {
        await apps.stop(conn.id).catch((err: unknown) => ctx.log.warn({ connId: conn.id, err: String(err) }, 'memif application stop failed'));
      }
    },
  });
}
