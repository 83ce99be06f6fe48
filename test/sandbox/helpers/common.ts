// Small things every part of the sandbox shares: component loggers and free ports.
import { createServer } from 'node:net';
import { createLogger, type Logger } from '../../../src/sdk/core/log.js';

/** A free loopback TCP port (the nsmgr registers its public URL before it binds, so port 0 will not do). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

export const log = (name: string): Logger => createLogger(name, process.env.NSM_LOG_LEVEL ?? 'silent');
