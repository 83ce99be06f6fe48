// wireguard-go's configuration socket (UAPI, /var/run/wireguard/NAME.sock; the protocol `wg`
// speaks): set a device's private key, port and its one peer, read them back. Talking to the
// socket directly keeps the private key out of files, argv and extra processes.
import { createConnection } from 'node:net';

export const UAPI_DIR = '/var/run/wireguard';
export const socketOf = (name: string) => `${UAPI_DIR}/${name}.sock`;

/** Sends one request (lines without the final blank line); resolves the answer's key=value lines. */
function call(name: string, lines: string[], timeoutMs = 3000): Promise<[string, string][]> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketOf(name));
    let text = '';
    const timer = setTimeout(() => sock.destroy(new Error(`wireguard-go ${name}: no answer on its socket within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      text += d;
      if (text.includes('\n\n')) sock.end();
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const pairs = text.split('\n').filter(Boolean).map((l) => {
        const i = l.indexOf('=');
        return [l.slice(0, i), l.slice(i + 1)] as [string, string];
      });
      const errno = pairs.find(([k]) => k === 'errno')?.[1];
      if (errno === undefined) reject(new Error(`wireguard-go ${name}: no answer on its socket`));
      else if (errno !== '0') reject(new Error(`wireguard-go ${name}: configuration refused (errno ${errno})`));
      else resolve(pairs);
    });
    sock.write(`${lines.join('\n')}\n\n`);
  });
}

export interface DeviceConfig {
  privateKeyHex: string;
  listenPort: number;
  peer: { publicKeyHex: string; endpoint: string };
}

/** Replaces the device's key, port and peers with `cfg` (one peer taking every address of both families). */
export async function configure(name: string, cfg: DeviceConfig): Promise<void> {
  await call(name, [
    'set=1',
    `private_key=${cfg.privateKeyHex}`,
    `listen_port=${cfg.listenPort}`,
    'replace_peers=true',
    `public_key=${cfg.peer.publicKeyHex}`,
    `endpoint=${cfg.peer.endpoint}`,
    'replace_allowed_ips=true',
    'allowed_ip=0.0.0.0/0',
    'allowed_ip=::/0',
  ]);
}

/** The device's private key (hex) and port, e.g. to adopt it after a forwarder restart. */
export async function readDevice(name: string): Promise<{ privateKeyHex?: string; listenPort?: number }> {
  const pairs = await call(name, ['get=1']);
  const get = (k: string) => pairs.find(([key]) => key === k)?.[1];
  const port = get('listen_port');
  return { ...(get('private_key') ? { privateKeyHex: get('private_key')! } : {}), ...(port ? { listenPort: Number(port) } : {}) };
}

/** `ip:port` as wireguard wants it (IPv6 in brackets). */
export const endpointOf = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
