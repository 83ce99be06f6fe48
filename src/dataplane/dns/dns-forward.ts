// Forwards a DNS query outside the vL3 zone to the upstream resolvers, all at once (as upstream
// NSM's fanout): the first response that is not SERVFAIL/REFUSED wins, else the last one heard,
// else undefined after the timeout. The query's bytes go out unchanged, so the response carries
// the client's id and flags.
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { DnsUpstream } from './dns-upstreams.js';

const rcode = (msg: Buffer) => (msg.length >= 4 ? msg[3]! & 15 : 2);

export function forwardQuery(query: Buffer, upstreams: readonly DnsUpstream[], timeoutMs = 2000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let left = upstreams.length;
    let last: Buffer | undefined;
    let done = false;
    const sockets = upstreams.map((u) => createSocket(isIPv6(u.host) ? 'udp6' : 'udp4'));
    const finish = (msg: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const s of sockets) s.close();
      resolve(msg);
    };
    const timer = setTimeout(() => finish(last), timeoutMs);
    const heard = (msg: Buffer | undefined) => {
      if (done || (msg && (msg.length < 12 || msg.readUInt16BE(0) !== query.readUInt16BE(0)))) return; // late, or not ours
      if (msg && rcode(msg) !== 2 && rcode(msg) !== 5) return finish(msg);
      last = msg ?? last;
      if (--left === 0) finish(last);
    };
    if (left === 0) return finish(undefined);
    sockets.forEach((s, i) => {
      s.on('error', () => heard(undefined));
      s.on('message', (msg) => heard(msg));
      s.send(query, upstreams[i]!.port, upstreams[i]!.host);
    });
  });
}
