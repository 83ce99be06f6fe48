// E2E: veth pairs between real namespaces through KernelDriver: connectivity, tagging, errors, cleanup.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError } from '../../../src/api/errors.js';
import { KernelDriver, aliasFor, connIdFromAlias, inodeUrlOf } from '../../../src/dataplane/index.js';
import { createTestNetns, ping, sweepStaleTestNetns } from '../helpers/netns.js';

const driver = new KernelDriver();
before(async () => {
  await sweepStaleTestNetns();
});
after(() => driver.close());

async function linkNames(ns: string): Promise<string[]> {
  return (await driver.listLinks(ns)).map((l) => l.name).sort();
}

test('veth with /32 addresses and routes pings both ways (IPv4 and IPv6)', async (t) => {
  const [a, b] = await createTestNetns(t, 'a', 'b');
  const alias = aliasFor('conn-1');
  await driver.createVeth({ name: 'nsm-a', netns: a, peerName: 'nsm-b', peerNetns: `file:///var/run/netns/${b}`, alias, mtu: 1400 });
  await driver.addAddress(a, 'nsm-a', '169.254.0.1/32');
  await driver.addAddress(b, 'nsm-b', '169.254.0.2/32');
  await driver.addRoute(a, { prefix: '169.254.0.2/32', dev: 'nsm-a' });
  await driver.addRoute(b, { prefix: '169.254.0.1/32', dev: 'nsm-b' });
  await driver.addRoute(b, { prefix: '169.254.0.1/32', dev: 'nsm-b' }); // idempotent
  await driver.addAddress(a, 'nsm-a', '2001:db8::1/128');
  await driver.addAddress(b, 'nsm-b', '2001:db8::2/128');
  await driver.addRoute(a, { prefix: '2001:db8::2/128', dev: 'nsm-a' });
  await driver.addRoute(b, { prefix: '2001:db8::1/128', dev: 'nsm-b' });
  assert.ok(ping(a, '169.254.0.2'), 'a -> b');
  assert.ok(ping(b, '169.254.0.1'), 'b -> a');
  assert.ok(ping(a, '2001:db8::2'), 'a -> b v6');
  assert.ok(ping(b, '2001:db8::1'), 'b -> a v6');
  const la = (await driver.listLinks(a)).find((l) => l.name === 'nsm-a');
  assert.deepEqual({ alias: la?.alias, kind: la?.kind, mtu: la?.mtu, up: la?.up }, { alias, kind: 'veth', mtu: 1400, up: true });
  assert.equal(connIdFromAlias(la?.alias), 'conn-1');
  await driver.setMtu(a, 'nsm-a', 1300);
  await driver.setDown(a, 'nsm-a');
  const la2 = (await driver.listLinks(a)).find((l) => l.name === 'nsm-a');
  assert.deepEqual({ mtu: la2?.mtu, up: la2?.up }, { mtu: 1300, up: false });
  assert.equal(await driver.deleteLink(a, 'nsm-a'), true);
  assert.deepEqual(await linkNames(a), ['lo']);
  assert.deepEqual(await linkNames(b), ['lo']);
  assert.equal(await driver.deleteLink(a, 'nsm-a'), false);
});

test('bad input fails with typed errors and leaves nothing behind', async (t) => {
  const [a, b] = await createTestNetns(t, 'a', 'b');
  const alias = aliasFor('conn-2');
  const base = { name: 'v1', netns: a, peerName: 'v2', peerNetns: b, alias };
  await assert.rejects(driver.createVeth({ ...base, peerNetns: 'tnosuch-netns-xyz' }), (e: Error) => e instanceof FailedPreconditionError && /tnosuch-netns-xyz/.test(e.message));
  await assert.rejects(driver.createVeth({ ...base, name: 'a234567890123456' }), (e: Error) => e instanceof InvalidArgumentError && /^name/.test(e.message));
  await assert.rejects(driver.createVeth({ ...base, alias: '' }), (e: Error) => e instanceof InvalidArgumentError && /alias/.test(e.message));
  await assert.rejects(driver.createVeth({ ...base, mtu: 10 }), (e: Error) => e instanceof InvalidArgumentError && /mtu/.test(e.message));
  await driver.createVeth(base);
  // name taken in the target namespace: either end
  await assert.rejects(driver.createVeth({ ...base, peerName: 'v3' }), (e: Error) => e instanceof AlreadyExistsError && /"v1"/.test(e.message));
  await assert.rejects(driver.createVeth({ ...base, name: 'v4' }), (e: Error) => e instanceof AlreadyExistsError && /"v2"/.test(e.message));
  await assert.rejects(driver.addAddress(a, 'v1', '169.254.1.300/32'), (e: Error) => e instanceof InvalidArgumentError && /cidr/.test(e.message));
  await assert.rejects(driver.addAddress(a, 'v1', '169.254.1.1/33'), InvalidArgumentError);
  await assert.rejects(driver.addAddress(a, 'nope', '169.254.1.1/32'), FailedPreconditionError);
  await assert.rejects(driver.addRoute(a, { prefix: '169.254.1.0/24', via: '2001:db8::1', dev: 'v1' }), InvalidArgumentError);
  assert.deepEqual(await linkNames(a), ['lo', 'v1']);
  assert.deepEqual(await linkNames(b), ['lo', 'v2']);
  assert.equal(await driver.deleteLink(b, 'v2'), true);
  assert.deepEqual(await linkNames(a), ['lo']);
});

test('listTagged finds exactly the tagged links; deleteLink removes them', async (t) => {
  const [a, b] = await createTestNetns(t, 'a', 'b');
  await driver.createVeth({ name: 'x1', netns: a, peerName: 'y1', peerNetns: b, alias: aliasFor('c1') });
  await driver.createVeth({ name: 'x2', netns: a, peerName: 'y2', peerNetns: b, alias: aliasFor('c2') });
  await driver.createVeth({ name: 'x3', netns: a, peerName: 'y3', peerNetns: b, alias: 'other:thing' });
  await driver.createBridge(a, 'br0');
  const tagged = await driver.listTagged(a);
  assert.deepEqual(tagged.map((l) => [l.name, connIdFromAlias(l.alias)]).sort(), [['x1', 'c1'], ['x2', 'c2']]);
  assert.deepEqual((await driver.listTagged(b, aliasFor('c2'))).map((l) => l.name), ['y2']);
  for (const l of tagged) await driver.deleteLink(a, l.name);
  assert.deepEqual(await driver.listTagged(a), []);
  assert.deepEqual(await driver.listTagged(b), []);
  assert.deepEqual(await linkNames(b), ['lo', 'y3']);
});

test('path and inode namespace references; channel respawns after its process dies', async (t) => {
  const [a, b] = await createTestNetns(t, 'a', 'b');
  const sleeper = spawn('ip', ['netns', 'exec', b, 'sleep', '60'], { stdio: 'ignore' });
  t.after(() => {
    sleeper.kill('SIGKILL');
  });
  await new Promise((r) => setTimeout(r, 100));
  const path = `/proc/${sleeper.pid}/ns/net`;
  const inode = await inodeUrlOf(a);
  assert.match(inode, /^inode:\/\/\d+\/\d+$/);
  await driver.createVeth({ name: 'p1', netns: inode, peerName: 'p2', peerNetns: path, alias: aliasFor('c3') });
  await driver.addAddress(path, 'p2', '169.254.2.2/24');
  await driver.addAddress(inode, 'p1', '169.254.2.1/24');
  assert.ok(ping(a, '169.254.2.2'));
  assert.deepEqual((await driver.listTagged(b)).map((l) => l.name), ['p2']);
  await assert.rejects(driver.setUp('inode://999/1', 'p1'), (e: Error) => e instanceof FailedPreconditionError && /inode:\/\/999\/1/.test(e.message));
  // kill the channel process behind namespace a: the next operation respawns it
  const { execFileSync } = await import('node:child_process');
  const pids = execFileSync('pgrep', ['-f', `^ip -n ${a} -force -batch -$`]).toString().trim().split('\n');
  for (const p of pids) process.kill(Number(p), 'SIGKILL');
  await new Promise((r) => setTimeout(r, 50));
  await driver.setMtu(a, 'p1', 1450);
  assert.equal((await driver.listLinks(a)).find((l) => l.name === 'p1')?.mtu, 1450);
  assert.equal(await driver.deleteLink(path, 'p2'), true);
  driver.closeNetns(path);
});

test('re-creating a deleted veth under the same names works (stale ip name cache is refreshed)', async (t) => {
  const [a, b] = await createTestNetns(t, 'a', 'b');
  for (let i = 0; i < 3; i++) {
    await driver.createVeth({ name: 'r1', netns: a, peerName: 'r2', peerNetns: b, alias: aliasFor('c4') });
    await driver.addAddress(a, 'r1', '169.254.3.1/24');
    await driver.addAddress(b, 'r2', '169.254.3.2/24');
    await driver.addRoute(b, { prefix: '169.254.4.0/24', via: '169.254.3.1', dev: 'r2' });
    assert.ok(ping(b, '169.254.3.1'), `round ${i}`);
    // delete from a: b's channel never sees r2 go away
    assert.equal(await driver.deleteLink(a, 'r1'), true);
    assert.equal(await driver.linkExists(b, 'r2'), false);
  }
  assert.deepEqual(await linkNames(b), ['lo']);
});

test('veth ends get one TX and one RX queue (NSM_VETH_QUEUES), over rtnetlink and over ip; 0: the kernel default', async (t) => {
  const [a, b] = await createTestNetns(t, 'a', 'b');
  const queues = (ns: string, dev: string) => {
    const [l] = JSON.parse(execFileSync('ip', ['-n', ns, '-d', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as { num_tx_queues: number; num_rx_queues: number }[];
    return [l!.num_tx_queues, l!.num_rx_queues];
  };
  const overIp = new KernelDriver({ rtnl: false });
  const kernelDefault = new KernelDriver({ vethQueues: 0 });
  t.after(() => {
    overIp.close();
    kernelDefault.close();
  });
  const alias = aliasFor('conn-q');
  for (const [d, n] of [[driver, 'q1'], [overIp, 'q2']] as const) {
    await d.createVeth({ name: `${n}a`, netns: a, peerName: `${n}b`, peerNetns: b, alias });
    assert.deepEqual([queues(a, `${n}a`), queues(b, `${n}b`)], [[1, 1], [1, 1]], n);
  }
  await kernelDefault.createVeth({ name: 'q3a', netns: a, peerName: 'q3b', peerNetns: b, alias });
  // veth's own default: one queue per possible CPU ("0-1": 2).
  const possible = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split(',');
  const cpus = possible.reduce((n, r) => n + (r.includes('-') ? Number(r.split('-')[1]) - Number(r.split('-')[0]) + 1 : 1), 0);
  assert.deepEqual(queues(a, 'q3a'), [Math.min(cpus, 4096), Math.min(cpus, 4096)]);
});
