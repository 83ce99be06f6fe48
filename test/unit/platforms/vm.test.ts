// Unit: VM workloads: the initramfs cpio writer, the guest's kernel command line, qemu's arguments and
// tag, the console-based echo check, and how a scenario's `runtime: vm` client is planned and checked.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cpioNewc } from '../../../src/platforms/vm/cpio.js';
import { guestCmdline, PING_REPLY } from '../../../src/platforms/vm/guest-config.js';
import { nameArg, qemuArgs, vmTag, vmTagPrefix } from '../../../src/platforms/vm/qemu.js';
import { vmGetsReplies } from '../../../src/cluster/vms.js';
import { planMesh } from '../../../src/cluster/plan.js';
import { parseScenario } from '../../../src/cluster/scenario.js';

/** Reads back a newc archive: [name, mode, data] per record. */
function readCpio(buf: Buffer): [string, number, string][] {
  const out: [string, number, string][] = [];
  let off = 0;
  const up4 = (n: number) => (n + 3) & ~3;
  for (;;) {
    assert.equal(buf.toString('ascii', off, off + 6), '070701', `magic at ${off}`);
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const [mode, size, namesize] = [field(1), field(6), field(11)];
    const name = buf.toString('utf8', off + 110, off + 110 + namesize - 1);
    const dataAt = up4(off + 110 + namesize);
    out.push([name, mode, buf.toString('utf8', dataAt, dataAt + size)]);
    off = up4(dataAt + size);
    if (name === 'TRAILER!!!') break;
  }
  assert.equal(off, buf.length);
  return out;
}

test('cpio: newc records with 4-byte alignment, modes by kind, trailer last', () => {
  const buf = cpioNewc([
    { kind: 'dir', path: '/bin' },
    { kind: 'file', path: 'init', data: '#!/bin/sh\n', mode: 0o755 },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
  ]);
  const recs = readCpio(buf);
  assert.deepEqual(recs.map(([n, m, d]) => [n, m.toString(8), d]), [
    ['bin', '40755', ''], ['init', '100755', '#!/bin/sh\n'], ['bin/sh', '120777', 'busybox'], ['dev/console', '20600', ''], ['TRAILER!!!', '0', ''],
  ]);
});

test('guest cmdline: addresses, routes (with and without a next hop), MTU and ping target as nsm.* parameters', () => {
  const line = guestCmdline({ addrs: ['169.254.1.1/32', '2001:db8::1/128'], routes: [{ prefix: '169.254.1.0/32' }, { prefix: '0.0.0.0/0', via: '169.254.1.0' }], mtu: 1450, ping: '169.254.1.0' });
  assert.match(line, /^console=ttyS0 /);
  assert.match(line, / nsm\.addrs=169\.254\.1\.1\/32,2001:db8::1\/128 /);
  assert.match(line, / nsm\.routes=169\.254\.1\.0\/32,0\.0\.0\.0\/0@169\.254\.1\.0 /);
  assert.match(line, / nsm\.mtu=1450 nsm\.ping=169\.254\.1\.0$/);
  assert.throws(() => guestCmdline({ addrs: ['169.254.1.1/32 evil=1'], routes: [] }), /whitespace/);
  assert.equal(PING_REPLY.exec('64 bytes from 169.254.1.0: seq=7 ttl=64 time=1.0 ms')?.slice(1).join(' '), '169.254.1.0 7');
});

test('qemu: TCG, the tag as -name, the NIC on the named tap with the given MAC; nameArg reads the tag back', () => {
  const args = qemuArgs({ image: { kernel: '/k', initrd: '/i', kernelPackage: 'p' }, cmdline: 'console=ttyS0', tag: vmTag('m1', 'c1'), tap: 'vm0', mac: '02:00:00:00:00:01', pidfile: '/run/x.pid' });
  assert.equal(nameArg(['qemu-system-x86_64', ...args]), 'nsm-ts:m1:c1');
  assert.ok(vmTag('m1', 'c1').startsWith(vmTagPrefix('m1')));
  assert.equal(args[args.indexOf('-accel') + 1], 'tcg');
  assert.ok(!args.includes('-enable-kvm'));
  assert.equal(args[args.indexOf('-netdev') + 1], 'tap,id=n0,ifname=vm0,script=no,downscript=no');
  assert.match(args[args.indexOf('-device') + 1]!, /^virtio-net-pci,netdev=n0,mac=02:00:00:00:00:01/);
  assert.equal(args[args.indexOf('-pidfile') + 1], '/run/x.pid');
});

test('VM echo check: UP only with a reply from that address in the last 3 s of the console', async () => {
  const f = join(mkdtempSync(join(tmpdir(), 'vmcons-')), 'c.console');
  const now = Date.parse('2026-01-01T00:00:10.000Z');
  writeFileSync(f, [
    '2026-01-01T00:00:01.000Z nsm-vm: pinging 169.254.1.0 every 0.2 s',
    '2026-01-01T00:00:08.000Z 64 bytes from 169.254.1.0: seq=1 ttl=64 time=1 ms',
    '2026-01-01T00:00:09.000Z 64 bytes from 169.254.9.9: seq=1 ttl=64 time=1 ms',
  ].join('\n'));
  assert.equal(await vmGetsReplies(f, '169.254.1.0/32', now), true);
  assert.equal(await vmGetsReplies(f, '169.254.1.0', now + 5000), false, 'stale');
  assert.equal(await vmGetsReplies(f, '169.254.2.2', now), false, 'other address');
  assert.equal(await vmGetsReplies(join(f, 'nosuch'), '169.254.1.0', now), false, 'no console');
});

const VM_SCENARIO = `name: v
nodes: [node-1, node-2]
endpoints:
  - { name: nse-1, node: node-2, kind: icmp-responder, services: [s], cidr: 169.254.1.0/24 }
clients:
  - { name: c1, node: node-1, runtime: vm, requests: ["kernel://s/eth9"] }
  - { name: c2, node: node-1, requests: ["kernel://s/nsm-1"] }
`;

test('plan: a runtime vm client gets an `nsm vm` component in its namespace and a client without namespace liveness', () => {
  const p = planMesh(parseScenario(VM_SCENARIO), 'v.yaml');
  const c1 = p.workloads.find((w) => w.name === 'c1')!;
  assert.equal(c1.runtime, 'vm');
  assert.deepEqual(c1.vm, { tag: 'nsm-ts:v:c1', component: 'c1-vm', console: `${p.logDir}/c1-vm.console` });
  assert.equal(p.workloads.find((w) => w.name === 'c2')!.vm, undefined);
  const vm = p.components.find((c) => c.kind === 'vm')!;
  assert.equal(vm.name, 'c1-vm');
  assert.equal(vm.netns, 'v-c1');
  assert.equal(vm.args[0], 'vm');
  assert.equal(vm.args[vm.args.indexOf('--interface') + 1], 'eth9');
  assert.equal(vm.args[vm.args.indexOf('--connection-file') + 1], `${p.logDir}/c1.out`);
  assert.ok(!vm.args.includes('--metrics-listen'));
  const nsc = p.components.find((c) => c.name === 'c1')!;
  assert.equal(nsc.args[nsc.args.indexOf('--liveness-interval') + 1], '0');
  assert.ok(!p.components.find((c) => c.name === 'c2')!.args.includes('--liveness-interval'));
});

test('scenario: a runtime vm client has exactly one request (VM endpoints: test/unit/platforms/vm-endpoint.test.ts)', () => {
  assert.throws(() => parseScenario(VM_SCENARIO.replace('"kernel://s/eth9"', '"kernel://s/eth9", "kernel://s/eth8"')), /one NIC: give exactly one request/);
});
