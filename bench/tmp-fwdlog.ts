import type { TestContext } from 'node:test';
import { closeAllChannels } from '../src/api/index.js';
import { MeshClient } from '../src/components/client.js';
import { createNamedNetns, deleteNamedNetns } from '../src/dataplane/netns.js';
import { freePort, Mesh } from '../test/e2e/helpers/mesh.js';
process.env.NSM_LOG_LEVEL ??= 'warn';
const after: (() => unknown)[] = [];
const mesh = new Mesh({ after: (fn: () => unknown) => after.push(fn) } as unknown as TestContext);
const nse = `b${process.pid}-nse`, c = `b${process.pid}-c`;
await createNamedNetns(nse); await createNamedNetns(c);
try {
  const reg = `tcp://127.0.0.1:${await freePort()}`;
  const nsmgrUrl = mesh.sock('nsmgr');
  await mesh.registry({ listen: reg });
  await mesh.nsmgr({ name: 'nsmgr-1', listen: nsmgrUrl, registry: reg });
  const f = await mesh.forwarder({ name: 'fwd-1', listen: mesh.sock('fwd'), nsmgr: nsmgrUrl, underlayIp: '198.18.0.1', env: { NSM_LOG_LEVEL: 'debug' } });
  await mesh.nse({ name: 'nse-1', nsmgr: nsmgrUrl, workloadNetns: nse, cidr: '169.254.0.0/16' });
  const client = await MeshClient.create({ name: 'nsc', nsmgrUrl });
  for (let i = 0; i < 20; i++) {
    const conn = await client.request({ service: 'icmp-responder', ifname: `nsm-${i}`, netnsUrl: `file:///var/run/netns/${c}` });
    await client.close(conn);
  }
  const lines = (f.stdout + f.stderr).split('\n');
  const msgs = new Map<string, number>();
  for (const l of lines) { const m = /"msg":"([^"]*)"/.exec(l); if (m) msgs.set(m[1]!, (msgs.get(m[1]!) ?? 0) + 1); }
  console.log([...msgs].sort((a, b) => b[1] - a[1]).slice(0, 40));
  for (const l of lines) if (/batch channel|died|ip command/.test(l)) console.log(l.slice(0, 400));
} finally { closeAllChannels(); await mesh.cleanup(); for (const fn of after) await Promise.resolve(fn()).catch(() => undefined); await deleteNamedNetns(nse).catch(() => undefined); await deleteNamedNetns(c).catch(() => undefined); }
process.exit(0);
