// The HTTPS server of `nsm webhook`: POST /mutate (any path) takes an AdmissionReview v1 and answers
// with admit()'s review; unparsable bodies get a denial review too (HTTP 200, as the API server expects).
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { admit, type InjectOptions } from './admission.js';

export interface WebhookServerOptions extends InjectOptions {
  certFile: string;
  keyFile: string;
  host?: string;
  port?: number;
  log?: Logger;
}

export interface WebhookServer {
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024;

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const server: Server = createServer({ cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) }, (req, res) => {
    const reply = (code: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz')) return reply(200, { ok: true });
    if (req.method !== 'POST') return reply(405, { message: 'POST an AdmissionReview' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString());
      } catch (err) {
        body = undefined;
        opts.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'admission: body is not JSON');
      }
      const out = admit(body, opts);
      opts.log?.info({ uid: out.response.uid, allowed: out.response.allowed, patched: out.response.patch !== undefined, message: out.response.status?.message }, 'admission review');
      reply(200, out);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8443, opts.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
