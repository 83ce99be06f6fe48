// The vL3 DNS responder process: runs inside a vL3 instance's network namespace (started by
// vl3-dns.ts through nsenter), answers on UDP port 53 (vl3-dns-answer.ts decides), and reads
// its state as JSON lines on stdin: {"zones":[...],"records":{"name":["addr"]},"peers":["ip"],
// "upstreams":[{"host","port"}]}; names outside the zones go to the upstreams (dns-forward.ts).
// Exits when stdin closes (its instance is gone).
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import dnsPacket, { type Packet } from 'dns-packet';
import { decide, rcodeOf, reply, RCODE } from './vl3-dns-answer.js';
import { forwardQuery } from './dns-forward.js';
import type { DnsUpstream } from './dns-upstreams.js';

let zones: string[] = [];
let records = new Map<string, string[]>();
let peers: string[] = [];
let upstreams: DnsUpstream[] = [];
const port = Number(process.env.NSM_VL3_DNS_PORT ?? 53);

const sock = createSocket({ type: 'udp4', reuseAddr: true });

/** Asks every peer (RD clear); the first answer with records wins, NXDOMAIN when none has it within 400 ms. */
async function fanout(query: Packet): Promise<Packet> {
  const ask = { ...query, flags: 0 };
  const asked = peers.map(
    (peer) =>
      new Promise<Packet | undefined>((resolve) => {
        const s = createSocket('udp4');
        const timer = setTimeout(() => finish(undefined), 400);
        const finish = (p: Packet | undefined) => {
          clearTimeout(timer);
          s.close();
          resolve(p);
        };
        s.on('error', () => finish(undefined));
        s.on('message', (msg) => {
          try {
            const p = dnsPacket.decode(msg);
            finish(rcodeOf(p) === RCODE.NOERROR && (p.answers?.length ?? 0) > 0 ? p : undefined);
          } catch {
            finish(undefined);
          }
        });
        s.send(dnsPacket.encode(ask), port, peer);
      }),
  );
  const found = await new Promise<Packet | undefined>((resolve) => {
    let left = asked.length;
    if (left === 0) resolve(undefined);
    for (const a of asked) void a.then((p) => (p ? resolve(p) : --left === 0 && resolve(undefined)));
  });
  return found ? reply(query, RCODE.NOERROR, found.answers ?? []) : reply(query, RCODE.NXDOMAIN);
}

sock.on('message', (msg, rinfo) => {
  let query;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return; // not DNS
  }
  const d = decide(query, zones, records, peers.length > 0, upstreams.length > 0);
  const send = (p: Packet) => sock.send(dnsPacket.encode(p), rinfo.port, rinfo.address);
  if (d.kind === 'reply') send(d.packet);
  else if (d.kind === 'forward') {
    void forwardQuery(msg, upstreams).then((r) => (r ? sock.send(r, rinfo.port, rinfo.address) : send(reply(query, RCODE.SERVFAIL))));
  }
  else void fanout(query).then(send, () => send(reply(query, RCODE.SERVFAIL)));
});
sock.on('error', (err) => {
  process.stderr.write(`vl3 dns: ${err.message}\n`);
  process.exit(1);
});
sock.bind(port, () => process.stdout.write('ready\n'));

createInterface({ input: process.stdin }).on('line', (line) => {
  try {
    const m = JSON.parse(line) as { zones?: string[]; records?: Record<string, string[]>; peers?: string[]; upstreams?: DnsUpstream[] };
    if (m.upstreams) upstreams = m.upstreams;
    if (m.zones) zones = m.zones;
    if (m.records) records = new Map(Object.entries(m.records));
    if (m.peers) peers = m.peers;
  } catch {
    // ignore a bad line
  }
}).on('close', () => process.exit(0));
