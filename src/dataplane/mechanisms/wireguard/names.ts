// WIREGUARD names and numbers derived from a connection id, so a restarted forwarder finds
// the same ones again: the device name wireguard-go is started with (its configuration socket
// /var/run/wireguard/NAME.sock is shared by every namespace of the machine, so the name mixes
// in this node's network namespace) and the first UDP port tried for the connection.
import { createHash } from 'node:crypto';

const hashOf = (s: string) => createHash('sha256').update(s).digest();

/** "wg" + 13 hex digits: unique per connection and node, machine-wide (<= 15 characters). */
export function deviceName(connId: string, node: string): string {
  return `wg${hashOf(`${connId}|${node}`).toString('hex').slice(0, 13)}`;
}

/** UDP ports WireGuard listens on (one per connection and node). */
export const PORT_BASE = 51820;
export const PORT_COUNT = 8192;

/** The `i`-th candidate port of a connection. */
export function portOf(connId: string, i = 0): number {
  return PORT_BASE + ((hashOf(connId).readUInt16BE(0) + i) % PORT_COUNT);
}
