import { KernelDriver } from '../src/dataplane/kernel-driver.js';
import { createNamedNetns, deleteNamedNetns } from '../src/dataplane/netns.js';
import pino from 'pino';
const log = pino({ level: 'debug' });
const d = new KernelDriver({ logger: log });
const a = `pw${process.pid}a`, b = `pw${process.pid}b`;
await createNamedNetns(a); await createNamedNetns(b);
try {
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    await d.createVeth({ name: `nsm-${i % 2}`, netns: a, peerName: `e${i % 2}`, peerNetns: b, alias: `nsm:x${i}` });
    await d.addAddress(a, `nsm-${i % 2}`, `169.254.7.${i * 2}/32`);
    const t1 = performance.now();
    await d.deleteLink(a, `nsm-${i % 2}`);
    console.log('create', (t1 - t0).toFixed(2), 'del', (performance.now() - t1).toFixed(2));
  }
} finally { d.close(); await deleteNamedNetns(a); await deleteNamedNetns(b); }
