// Starts a vL3 instance's DNS responder inside its namespace (vl3-dns-main.ts, one small
// process through nsenter, since a Node thread cannot enter another namespace) and feeds
// it zones, records and peers over stdin. The responder exits with its instance.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FailedPreconditionError } from '../../api/errors.js';
import { netnsPath, resolveNetns, type NetnsLike } from '../netns.js';
import type { DnsUpstream } from './dns-upstreams.js';

export interface Vl3Dns {
  update(state: { zones?: string[]; records?: Map<string, string[]>; peers?: string[]; upstreams?: DnsUpstream[] }): void;
  stop(): void;
}

export async function startVl3Dns(netns: NetnsLike, opts: { port?: number } = {}): Promise<Vl3Dns> {
  const ref = await resolveNetns(netns);
  const self = fileURLToPath(import.meta.url);
  const main = self.replace(/vl3-dns\.(ts|js)$/, 'vl3-dns-main.$1');
  const child = spawn('nsenter', [`--net=${netnsPath(ref)}`, process.execPath, ...process.execArgv, main], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...(opts.port ? { NSM_VL3_DNS_PORT: String(opts.port) } : {}) },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new FailedPreconditionError(`vl3 DNS responder exited (${code}): ${stderr.trim()}`)));
  });
  child.stdin.on('error', () => undefined);
  return {
    update(state) {
      const msg = { ...state, ...(state.records ? { records: Object.fromEntries(state.records) } : {}) };
      child.stdin.write(`${JSON.stringify(msg)}\n`);
    },
    stop() {
      child.stdin.end();
      child.kill();
    },
  };
}
