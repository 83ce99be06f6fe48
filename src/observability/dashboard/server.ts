// The dashboard's HTTP server (loopback by default): the page and its script from web/dashboard/,
// cytoscape from node_modules, the current view as JSON (/api/view) and every change as
// server-sent events (/events).
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { DashboardFeed } from './feed.js';

export interface DashboardServer {
  /** http://HOST:PORT/ (a port 0 resolved). */
  url: string;
  stop(): Promise<void>;
}

/** web/dashboard at the package root: three levels up from src/observability/dashboard and from dist/observability/dashboard. */
export const WEB_DIR = fileURLToPath(new URL('../../../web/dashboard/', import.meta.url));

const STATIC: Record<string, { file: () => string; type: string }> = {
  '/': { file: () => `${WEB_DIR}index.html`, type: 'text/html; charset=utf-8' },
  '/app.js': { file: () => `${WEB_DIR}app.js`, type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: () => `${WEB_DIR}style.css`, type: 'text/css; charset=utf-8' },
  '/vendor/cytoscape.min.js': { file: () => createRequire(import.meta.url).resolve('cytoscape/dist/cytoscape.min.js'), type: 'text/javascript; charset=utf-8' },
};

export async function startDashboardServer(feed: DashboardFeed, host = '127.0.0.1', port = 0): Promise<DashboardServer> {
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET') return void res.writeHead(405, { 'content-type': 'text/plain' }).end('only GET\n');
    if (path === '/api/view') return void res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(feed.current() ?? null));
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.flushHeaders();
      streams.add(res);
      const off = feed.subscribe((v) => res.write(`event: view\ndata: ${JSON.stringify(v)}\n\n`));
      res.on('close', () => (off(), streams.delete(res)));
      return;
    }
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    const s = STATIC[path];
    if (!s) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
    readFile(s.file()).then(
      (body) => res.writeHead(200, { 'content-type': s.type, 'cache-control': 'no-cache' }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot read ${path}: ${String(err)}\n`),
    );
  });
  // Keeps proxies and browsers from dropping an idle event stream.
  const ping = setInterval(() => streams.forEach((r) => r.write(': ping\n\n')), 15_000);
  ping.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => (server.off('error', reject), resolve()));
  });
  const addr = server.address() as AddressInfo;
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${h}:${addr.port}/`,
    stop: () =>
      new Promise((resolve) => {
        clearInterval(ping);
        streams.forEach((r) => r.end());
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
