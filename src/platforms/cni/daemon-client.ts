// The plugin's side of the daemon protocol: one POST over the daemon's unix socket. An absent or
// silent daemon is "try again later" (code 11), since runtimes retry and the daemon may be starting.
import { request } from 'node:http';
import { CniCode, CniError } from './errors.js';
import type { DaemonError } from './protocol.js';

export class DaemonUnreachableError extends CniError {
  constructor(socket: string, cause: string) {
    super(CniCode.TryAgainLater, `nsm cni-daemon is not answering on ${socket} (${cause}); start it with: nsm cni-daemon --socket ${socket}`);
    this.name = 'DaemonUnreachableError';
  }
}

export function callDaemon<T>(socket: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(
      { socketPath: socket, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }, timeout: timeoutMs },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            reject(new CniError(CniCode.IoFailure, `nsm cni-daemon answered ${res.statusCode} with something that is not JSON`));
            return;
          }
          if (res.statusCode === 200) resolve(parsed as T);
          else {
            const e = parsed as DaemonError;
            reject(new CniError(e.code ?? CniCode.RequestFailed, e.msg ?? `nsm cni-daemon answered ${res.statusCode}`, e.details ?? ''));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new DaemonUnreachableError(socket, err.code ?? err.message)));
    req.end(data);
  });
}
