// Unit: the VHOSTUSER mechanism module (checks, client-only sides), the socket path it clears before
// serving, and program-dataplane joining a client-only local kind to the endpoint kind it cross-connects.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Mechanism, NetworkServiceRequest } from '../../../src/api/index.js';
import { begin } from '../../../src/sdk/core/begin.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { vhostuser } from '../../../src/dataplane/mechanisms/vhostuser/index.js';
import { clearSocketPath } from '../../../src/dataplane/mechanisms/common/socket-file.js';
import { forwarderMechanisms } from '../../../src/sdk/networkservice/forwarder-mechanisms.js';
import { programDataplane, type ForwarderDataplane } from '../../../src/sdk/networkservice/program-dataplane.js';
import type { LocalMechanism, Side } from '../../../src/sdk/tools/mechanism-module.js';
import { memifMechanism, P, vhostUserMechanism } from '../../../src/sdk/tools/mechanisms.js';
import { nextUrlIs, recorder } from '../networkservice/helpers.js';

const mech = (parameters: Record<string, string>) => Mechanism.fromPartial({ cls: 'LOCAL', type: 'VHOSTUSER', parameters });

describe('vhostuser mechanism', () => {
  it('takes a workload-named socket as MEMIF does, naming VHOSTUSER in what it refuses', () => {
    assert.equal(vhostuser.check(mech({ socketfile: '/run/nsm/vm/vhost-0123/v0.sock', inodeURL: 'file:///run/nsm/vm/vhost-0123/v0.sock' })), undefined);
    assert.match(vhostuser.check(mech({}))!, /^VHOSTUSER mechanism needs .*"socketfile"/);
    assert.match(vhostuser.check(mech({ socketfile: '/run/x.sock,client=1' }))!, /VHOSTUSER parameter "socketfile"/);
    assert.match(vhostuser.check(mech({ socketfile: '/run/a.sock', inodeURL: 'file:///run/b.sock' }))!, /disagree/);
    assert.match(vhostuser.check(mech({ socketfile: '/run/nsm/vm/../../../var/run/x.sock' }))!, /normalized path/);
  });

  it('attaches clients only and cross-connects to MEMIF endpoints; a tunnel toward another node gets a short name', () => {
    assert.equal(vhostuser.clientOnly, true);
    assert.deepEqual(vhostuser.crossConnects, ['MEMIF']);
    const side = vhostuser.clientSide(mech({ socketfile: '/run/x/v0.sock' }), undefined);
    assert.equal(side.socketfile, '/run/x/v0.sock');
    assert.match(side.name, /^nsm-m[0-9a-f]{8}$/);
    assert.throws(() => vhostuser.endpointSide(mech({ socketfile: '/run/x/v0.sock' }), undefined), /clients only/);
  });
});

describe('clearSocketPath', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-unit-vhost-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a missing directory, a file that is not a socket and a socket in use; removes a stale socket; a free path is fine', async () => {
    await assert.rejects(clearSocketPath(join(dir, 'nope', 'v0.sock')), /directory of socket .* does not exist/);
    writeFileSync(join(dir, 'file'), 'x');
    await assert.rejects(clearSocketPath(join(dir, 'file')), /is not a socket/);
    assert.ok(existsSync(join(dir, 'file')));
    const sock = join(dir, 'v0.sock');
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    await assert.rejects(clearSocketPath(sock), /in use by another process/);
    assert.ok(existsSync(sock));
    // A server that is gone without removing its socket (as after SIGKILL): the file stays, nobody listens.
    const stale = join(dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stale)})`], { stdio: 'ignore' });
    while (!existsSync(stale)) await sleep(10);
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.ok(existsSync(stale));
    await clearSocketPath(stale);
    assert.equal(existsSync(stale), false);
    await new Promise<void>((r) => server.close(() => r()));
    await clearSocketPath(join(dir, 'free.sock'));
  });
});

describe('program-dataplane with a client-only local kind', () => {
  it('joins the client end of one local kind to the endpoint end of the kind it cross-connects to', async () => {
    const joined: [Side, Side][] = [];
    const sideOf = (m: Mechanism): Side => ({ netns: 'host', name: 'x', addrs: [], routes: [], socketfile: m.parameters[P.socketfile]! });
    const base = { cls: 'LOCAL' as const, check: () => undefined, clientSide: sideOf, endpointSide: sideOf };
    const fakeMemif: LocalMechanism = { ...base, type: 'MEMIF', accept: (m) => m, offer: () => memifMechanism({}), crossConnect: () => Promise.reject(new Error('not this one')) };
    const fakeVhost: LocalMechanism = {
      ...base, type: 'VHOSTUSER', clientOnly: true, crossConnects: ['MEMIF'], accept: (m) => m, offer: () => vhostUserMechanism({}),
      crossConnect: async (_p, c, e) => {
        joined.push([c, e]);
        return [];
      },
    };
    const reg = { local: [fakeMemif, fakeVhost], remote: [] };
    const endpoint = recorder({ onRequest: (req) => void (req.connection!.mechanism = memifMechanism({ [P.socketfile]: '/run/nse/m0.sock' })) });
    const dp = {} as ForwarderDataplane;
    const handler = chain(begin(), nextUrlIs('unix:///run/nsm/nse.sock'), forwarderMechanisms({ underlayIp: '198.18.0.1', mechanisms: reg }), programDataplane(dp, { underlayIp: '198.18.0.1', mechanisms: reg }), endpoint);
    const out = await handler.request(NetworkServiceRequest.fromPartial({ connection: { id: 'c1' }, mechanismPreferences: [vhostUserMechanism({ [P.socketfile]: '/run/vm/v0.sock' })] }), newCtx());
    assert.equal(out.mechanism?.type, 'VHOSTUSER');
    assert.deepEqual(endpoint.requests[0]!.req.mechanismPreferences.map((m) => m.type), ['MEMIF']);
    assert.deepEqual(joined.map(([c, e]) => [c.socketfile, e.socketfile]), [['/run/vm/v0.sock', '/run/nse/m0.sock']]);
  });
});
