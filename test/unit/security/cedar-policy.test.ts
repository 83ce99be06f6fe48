import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Connection, NetworkServiceEndpoint, NetworkServiceRequest } from '../../../src/api/index.js';
import { Status, statusOf } from '../../../src/api/errors.js';
import { chain } from '../../../src/sdk/core/chain.js';
import { newCtx } from '../../../src/sdk/core/ctx.js';
import { registryChain } from '../../../src/sdk/core/registry-chain.js';
import { userPolicy } from '../../../src/sdk/networkservice/user-policy.js';
import { registryUserPolicy } from '../../../src/sdk/registry/user-policy.js';
import { cedarPolicyEngine, loadCedarPolicyFile } from '../../../src/security/cedar-policy.js';
import { recorder } from '../networkservice/helpers.js';

const gold = loadCedarPolicyFile(new URL('../../../examples/policies/gold-only.cedar', import.meta.url).pathname);
const conn = (service: string, labels: Record<string, string> = {}) =>
  Connection.fromPartial({ id: 'n1', networkService: service, labels, path: { index: 1, pathSegments: [{ name: 'nsc-a', id: 'c1' }, { name: 'nsmgr', id: 'n1' }] } });
const denied = (re: RegExp) => (err: unknown) => statusOf(err) === Status.PERMISSION_DENIED && re.test((err as Error).message);

describe('user policies (Cedar)', () => {
  it('only clients labelled tier=gold may request service secure; the denial names the file and the policy; nothing reaches the chain', async () => {
    const rec = recorder();
    const h = chain(userPolicy(gold, 'nsmgr-1'), rec);
    await assert.rejects(h.request(NetworkServiceRequest.fromPartial({ connection: conn('secure', { tier: 'silver' }) }), newCtx()), denied(/^user-policy: .*gold-only\.cedar: Request of service "secure" by "nsc-a" denied by policy "gold-only"/));
    await assert.rejects(h.request(NetworkServiceRequest.fromPartial({ connection: conn('secure') }), newCtx({ incoming: { peer: { spiffeId: 'spiffe://td/nsc/a' } } })), denied(/by "spiffe:\/\/td\/nsc\/a" denied by policy "gold-only"/));
    assert.equal(rec.requests.length, 0);
    await h.request(NetworkServiceRequest.fromPartial({ connection: conn('secure', { tier: 'gold' }) }), newCtx());
    await h.request(NetworkServiceRequest.fromPartial({ connection: conn('open', { tier: 'silver' }) }), newCtx());
    assert.equal(rec.requests.length, 2);
  });

  it('nothing permitted: the denial says no policy permits it', async () => {
    const engine = cedarPolicyEngine('permit(principal == Identity::"x", action, resource);', 'p.cedar');
    const h = chain(userPolicy(engine, 'nse'), recorder());
    await assert.rejects(h.close(conn('svc'), newCtx()), denied(/^user-policy: p\.cedar: Close .* denied by no permitting policy/));
  });

  it('registry: an endpoint may register a service only if policy allows (principal = its name without security)', async () => {
    const engine = cedarPolicyEngine('@id("allow")\npermit(principal, action, resource);\n@id("no-secure-from-rogue")\nforbid(principal == Identity::"rogue", action == Action::"Register", resource == NetworkService::"secure");', 'reg.cedar');
    const h = registryChain(registryUserPolicy(engine, 'registry'));
    const nse = (name: string) => NetworkServiceEndpoint.fromPartial({ name, url: 'tcp://198.18.0.1:1', networkServiceNames: ['secure'] });
    await assert.rejects(h.register(nse('rogue'), newCtx()), denied(/Register of endpoint "rogue" for service "secure" by "rogue" denied by policy "no-secure-from-rogue"/));
    await h.register(nse('good'), newCtx());
  });

  it('a malformed or missing policy file is an error naming it', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-policy-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const bad = join(dir, 'bad.cedar');
    writeFileSync(bad, 'permit(principal, action, resource');
    assert.throws(() => loadCedarPolicyFile(bad), /bad\.cedar: /);
    assert.throws(() => loadCedarPolicyFile(join(dir, 'none.cedar')), /policy file .*none\.cedar: /);
    assert.throws(() => cedarPolicyEngine('@id("a")\npermit(principal, action, resource);\n@id("a")\npermit(principal, action, resource);', 'dup'), /two policies are named "a"/);
  });
});
