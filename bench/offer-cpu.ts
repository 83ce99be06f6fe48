// Diagnostic: CPU a forwarder spends on the encrypting remote mechanisms' offers (WIREGUARD and IPSEC are offered
// with every remote Request, whichever mechanism is chosen) and their releases, with N connections already held,
// to see costs that grow with the number of connections. Run: node --import tsx bench/offer-cpu.ts [N ...]
import { ipsec } from '../src/dataplane/mechanisms/ipsec/index.js';
import { wireguard } from '../src/dataplane/mechanisms/wireguard/index.js';

process.env.NSM_IPSEC_DIR ??= `/tmp/nsm-ipsec-offer-cpu-${process.pid}-none`;
const env = { underlayIp: '198.18.0.1' };
const counts = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
const OPS = 500;
const offer = (id: string) => {
  wireguard.offer(env, undefined, undefined, id);
  ipsec.offer(env, undefined, undefined, id);
};
const release = async (id: string) => {
  await wireguard.release!(id, undefined as never);
  await ipsec.release!(id, undefined as never);
};
for (const held of counts.length > 0 ? counts : [0, 1000, 2000]) {
  for (let i = 0; i < held; i++) offer(`held-${held}-${i}`);
  const c0 = process.cpuUsage();
  for (let i = 0; i < OPS; i++) offer(`new-${held}-${i}`);
  const c = process.cpuUsage(c0);
  const r0 = process.cpuUsage();
  for (let i = 0; i < OPS; i++) await release(`new-${held}-${i}`);
  const r = process.cpuUsage(r0);
  console.log(JSON.stringify({ held, offerUsPerRequest: Math.round((c.user + c.system) / OPS), releaseUsPerClose: Math.round((r.user + r.system) / OPS) }));
  for (let i = 0; i < held; i++) await release(`held-${held}-${i}`);
}
process.exit(0);
