// Unit: VM endpoints: the guest's state for a set of connections and the commands that take it there,
// the control channel (command lines; hello, ok and err against a fake guest), the guest MAC, and how a scenario's `runtime: vm` endpoint is
// planned (an `nsm vm-endpoint` component in its namespace) and checked (icmp-responder only).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { applyOp, desiredGuest, emptyGuest, guestOps, type LinkConfig } from '../../../src/platforms/vm/guest-sync.js';
import { GuestControl, guestCommand } from '../../../src/platforms/vm/guest-control.js';
import { guestMac } from '../../../src/platforms/vm/endpoint-runner.js';
import { guestCmdline } from '../../../src/platforms/vm/guest-config.js';
import { GUEST_INIT } from '../../../src/platforms/vm/guest-init.js';
import { qemuArgs } from '../../../src/platforms/vm/qemu.js';
import { endpointVmComponents } from '../../../src/cluster/vms.js';
import { planMesh } from '../../../src/cluster/plan.js';
import { parseScenario } from '../../../src/cluster/scenario.js';

const c1: LinkConfig = { connId: 'a', addrs: ['169.254.1.0/32', '2001:db8:1::/128'], routes: [{ prefix: '169.254.1.1/32' }, { prefix: '2001:db8:1::1/128' }], mtu: 1450 };
const c2: LinkConfig = { connId: 'b', addrs: ['169.254.1.2/32'], routes: [{ prefix: '169.254.1.3/32' }, { prefix: '169.254.9.0/24', via: '169.254.1.3' }], mtu: 1500 };

test('desiredGuest: every connection with addresses; routes take their connection\'s source and MTU; eth0 the largest MTU', () => {
  const want = desiredGuest([c1, c2, { connId: 'c', addrs: [], routes: [{ prefix: '169.254.1.5/32' }], mtu: 9000 }]);
  assert.deepEqual(want.addrs, ['169.254.1.0/32', '2001:db8:1::/128', '169.254.1.2/32']);
  assert.deepEqual(want.routes['169.254.1.1/32'], { src: '169.254.1.0', mtu: 1450 });
  assert.deepEqual(want.routes['2001:db8:1::1/128'], { src: '2001:db8:1::', mtu: 1450 });
  assert.deepEqual(want.routes['169.254.9.0/24'], { via: '169.254.1.3', src: '169.254.1.2', mtu: 1500 });
  assert.equal(want.routes['169.254.1.5/32'], undefined, 'no addresses yet: nothing');
  assert.equal(want.mtu, 1500);
});

test('guestOps: adds (MTU, addresses, routes, primes of new host routes) then removals; applied, nothing is left to do', () => {
  const want = desiredGuest([c1]);
  const ops = guestOps(emptyGuest(), want);
  assert.deepEqual(ops.map((o) => o.op), ['mtu', 'addr-add', 'addr-add', 'route-replace', 'route-replace', 'prime', 'prime']);
  assert.deepEqual(ops.at(-2), { op: 'prime', src: '169.254.1.0', dst: '169.254.1.1' });
  let have = ops.reduce((h, op) => applyOp(h, op, want), emptyGuest());
  assert.deepEqual(guestOps(have, want), []);
  // c1 closed, c2 came: c2's things first, then c1's routes and addresses go.
  const next = desiredGuest([c2]);
  const ops2 = guestOps(have, next);
  assert.deepEqual(ops2.map((o) => `${o.op}`), ['mtu', 'addr-add', 'route-replace', 'route-replace', 'prime', 'route-del', 'route-del', 'addr-del', 'addr-del']);
  assert.ok(!ops2.some((o) => o.op === 'prime' && o.dst === '169.254.9.0'), 'no prime through a gateway route');
  have = ops2.reduce((h, op) => applyOp(h, op, next), have);
  assert.deepEqual(have.addrs, ['169.254.1.2/32']);
  assert.deepEqual(Object.keys(have.routes).sort(), ['169.254.1.3/32', '169.254.9.0/24']);
});

test('guestCommand: one line per op, "-" for what is absent; anything but addresses and numbers is refused', () => {
  assert.equal(guestCommand({ op: 'addr-add', cidr: '169.254.1.0/32' }), 'A 169.254.1.0/32');
  assert.equal(guestCommand({ op: 'route-replace', prefix: '169.254.1.1/32', src: '169.254.1.0', mtu: 1450 }), 'R 169.254.1.1/32 - 169.254.1.0 1450');
  assert.equal(guestCommand({ op: 'prime', src: '2001:db8::', dst: '2001:db8::1' }), 'P 2001:db8:: 2001:db8::1');
  assert.throws(() => guestCommand({ op: 'addr-add', cidr: '169.254.1.0/32; reboot' }), /not an address or number/);
  assert.throws(() => guestCommand({ op: 'route-del', prefix: '' }), /not an address or number/);
});

test('endpoint guest: control loop on ttyS1 (nsm.ctl=1), a second serial port on a unix socket, a stable local MAC', () => {
  assert.match(guestCmdline({ addrs: [], routes: [], ctl: true }), /(^| )nsm\.ctl=1( |$)/);
  assert.match(GUEST_INIT, /exec 3<>\/dev\/ttyS1/);
  assert.match(GUEST_INIT, /if \[ -n "\$CTL" \]; then control_loop; fi/);
  const args = qemuArgs({ image: { kernel: '/k', initrd: '/i', kernelPackage: 'p' }, cmdline: 'x', tag: 't', tap: 'vm0', mac: guestMac('t'), ctlSocket: '/run/c.sock' });
  assert.deepEqual(args.slice(args.lastIndexOf('-serial'), args.lastIndexOf('-serial') + 2), ['-serial', 'unix:/run/c.sock,server=on,wait=off']);
  assert.match(guestMac('nsm-ts:m:e'), /^52:54:00(:[0-9a-f]{2}){3}$/);
  assert.equal(guestMac('nsm-ts:m:e'), guestMac('nsm-ts:m:e'));
  assert.notEqual(guestMac('nsm-ts:m:e'), guestMac('nsm-ts:m:f'));
});

const SCENARIO = `name: ve
nodes: [node-1, node-2]
endpoints:
  - { name: nse-1, node: node-2, kind: icmp-responder, services: [s], cidr: 169.254.1.0/24, runtime: vm }
clients:
  - { name: c1, node: node-1, requests: ["kernel://s/nsm-1"] }
`;

test('plan: a runtime vm endpoint gets an `nsm vm-endpoint` component in its namespace, started before the endpoints', () => {
  const p = planMesh(parseScenario(SCENARIO), 've.yaml');
  const w = p.workloads.find((x) => x.name === 'nse-1')!;
  assert.equal(w.runtime, 'vm');
  assert.deepEqual(w.vm, { tag: 'nsm-ts:ve:nse-1', component: 'nse-1-vm', console: `${p.logDir}/nse-1-vm.console` });
  const vms = endpointVmComponents(p);
  assert.deepEqual(vms.map((c) => c.name), ['nse-1-vm']);
  assert.equal(vms[0]!.netns, 've-nse-1');
  assert.equal(vms[0]!.args[0], 'vm-endpoint');
  assert.equal(vms[0]!.args[vms[0]!.args.indexOf('--state-dir') + 1], `${p.runDir}/vm/nse-1`);
  assert.ok(!vms[0]!.args.includes('--metrics-listen'));
  const nse = p.components.find((c) => c.name === 'nse-1')!;
  assert.equal(nse.args[nse.args.indexOf('--netns') + 1], 've-nse-1', 'the NSE itself runs as for a namespace');
});

test('scenario: runtime vm endpoints are icmp-responders; other kinds get a clear error', () => {
  assert.doesNotThrow(() => parseScenario(SCENARIO));
  const passthrough = SCENARIO.replace('  - { name: c1', '  - { name: p1, node: node-1, kind: passthrough, services: [t], runtime: vm }\nclients:\n  - { name: c1').replace(/clients:\n(?=.*clients:)/s, '');
  assert.throws(() => parseScenario(passthrough), /endpoint "p1" is a passthrough: runtime vm runs icmp-responder endpoints only/);
});

test('GuestControl: says hello until the guest answers, then resolves ok and rejects err lines by sequence number', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'vmctl-')), 'ctl.sock');
  const seen: string[] = [];
  let hellos = 0;
  // A fake guest: ignores the first hello (still booting), answers the rest; "A" ok, "r" err.
  const server = createServer((s) => {
    createInterface({ input: s }).on('line', (line) => {
      seen.push(line);
      const [seq, op] = line.split(' ');
      if (op === 'H' && hellos++ === 0) return;
      s.write(op === 'r' ? `${seq} err ip: RTNETLINK answers: No such process\n` : `${seq} ok\n`);
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  const ctl = new GuestControl(path, 2000);
  try {
    await ctl.hello(new AbortController().signal);
    assert.equal(hellos, 2);
    await ctl.run({ op: 'addr-add', cidr: '169.254.1.0/32' });
    await assert.rejects(ctl.run({ op: 'route-del', prefix: '169.254.1.1/32' }), /guest: ip: RTNETLINK answers: No such process/);
    assert.deepEqual(seen.slice(-2), ['3 A 169.254.1.0/32', '4 r 169.254.1.1/32']);
  } finally {
    ctl.close();
    server.close();
  }
});
