// Starts a gRPC server for a component on one or more mesh URLs and stops it.
import type { Server } from 'nice-grpc';
import { listenOn, newGrpcServer, parseMeshUrl } from '../api/transport.js';
import { rmSync } from 'node:fs';

export interface RunningServer {
  server: Server;
  /** The bound URLs, in the order asked (tcp port 0 resolved). */
  urls: string[];
  stop(): Promise<void>;
}

export async function startServer(urls: string[], addServices: (server: Server) => void): Promise<RunningServer> {
  const server = newGrpcServer();
  addServices(server);
  const bound: string[] = [];
  try {
    for (const url of urls) bound.push(await listenOn(server, url));
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  return {
    server,
    urls: bound,
    async stop() {
      await Promise.race([server.shutdown(), new Promise((r) => setTimeout(r, 2000).unref())]);
      server.forceShutdown();
      for (const url of bound) {
        const u = parseMeshUrl(url);
        if (u.kind === 'unix') rmSync(u.path, { force: true });
      }
    },
  };
}
