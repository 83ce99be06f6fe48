import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueSvid, loadCa, parseIdentity, spiffeId, spiffeIdFromSan, TrustBundle, watchIdentityFiles } from '../../../src/security/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mesh CA and SVIDs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-ca-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('issues an X.509 SVID: one spiffe:// URI SAN, no CA, EKU server+client, short-lived, chained to the CA', async () => {
    const ca = await loadCa(await createCa('example.mesh'));
    const id = spiffeId('example.mesh', 'nsmgr', 'nsmgr-1');
    const svid = await issueSvid(ca, id, 20_000);
    const cert = new X509Certificate(svid.certPem);
    assert.equal(spiffeIdFromSan(cert.subjectAltName), id);
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.ok(Date.parse(cert.validTo) - Date.now() <= 21_000);
    assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)));
    const bundle = new TrustBundle(ca.certPem);
    assert.deepEqual([...bundle.trustDomains], ['example.mesh']);
    assert.equal(bundle.verify([cert]), id);
    assert.equal(parseIdentity({ certPem: svid.certPem, keyPem: svid.keyPem, bundlePem: ca.certPem }).spiffeId, id);
  });

  it('refuses bad names, foreign trust domains, foreign CAs, expired SVIDs and a key of another SVID', async () => {
    const ca = await loadCa(await createCa('example.mesh'));
    assert.throws(() => spiffeId('Bad Domain', 'nsc', 'x'), /trust domain/);
    assert.throws(() => spiffeId('example.mesh', 'nsc', 'a/b'), /name/);
    await assert.rejects(issueSvid(ca, 'spiffe://other.mesh/nsc/x', 1000), /outside the CA's trust domain/);
    const other = await loadCa(await createCa('example.mesh'));
    const foreign = await issueSvid(other, spiffeId('example.mesh', 'nsc', 'x'), 60_000);
    assert.throws(() => new TrustBundle(ca.certPem).verify([new X509Certificate(foreign.certPem)]), /not signed by the trust bundle/);
    const svid = await issueSvid(ca, spiffeId('example.mesh', 'nsc', 'x'), 60_000);
    assert.throws(() => new TrustBundle(ca.certPem).verify([new X509Certificate(svid.certPem)], Date.now() + 120_000), /expired/);
    assert.throws(() => parseIdentity({ certPem: svid.certPem, keyPem: foreign.keyPem, bundlePem: ca.certPem }), /does not match/);
    assert.throws(() => new TrustBundle(svid.certPem), /not a CA/);
  });

  it('identity files are reloaded on change (rotation); a broken change keeps the current SVID', async () => {
    const ca = await loadCa(await createCa('example.mesh'));
    const id = spiffeId('example.mesh', 'nse', 'nse-1');
    const files = { trustBundle: join(dir, 'bundle.pem'), svidCert: join(dir, 'svid.pem'), svidKey: join(dir, 'svid-key.pem') };
    const write = (s: { certPem: string; keyPem: string }) => {
      writeFileSync(files.svidKey, s.keyPem);
      writeFileSync(files.svidCert, s.certPem);
    };
    writeFileSync(files.trustBundle, ca.certPem);
    write(await issueSvid(ca, id, 20_000));
    const errors: unknown[] = [];
    const w = watchIdentityFiles(files, { pollMs: 50, onError: (e) => errors.push(e) });
    const seen: string[] = [];
    w.provider.onChange((cur) => seen.push(cur.chain[0]!.serialNumber));
    const first = w.provider.current.chain[0]!.serialNumber;
    const next = await issueSvid(ca, id, 20_000);
    write(next);
    for (let i = 0; i < 40 && seen.length === 0; i++) await sleep(50);
    assert.equal(seen.length, 1);
    assert.notEqual(seen[0], first);
    writeFileSync(files.svidCert, 'garbage');
    await sleep(300);
    assert.equal(errors.length, 1);
    assert.equal(w.provider.current.chain[0]!.serialNumber, seen[0]);
    w.stop();
  });

  it('a start that catches the files mid-rotation (new certificate, old key) waits for the key and starts', async () => {
    const ca = await loadCa(await createCa('example.mesh'));
    const id = spiffeId('example.mesh', 'nsc', 'nsc-1');
    const files = { trustBundle: join(dir, 'b2.pem'), svidCert: join(dir, 's2.pem'), svidKey: join(dir, 's2-key.pem') };
    const [old, next] = [await issueSvid(ca, id, 20_000), await issueSvid(ca, id, 20_000)];
    writeFileSync(files.trustBundle, ca.certPem);
    writeFileSync(files.svidCert, next.certPem);
    writeFileSync(files.svidKey, old.keyPem);
    writeFileSync(join(dir, 'next-key.pem'), next.keyPem);
    // Another process renames the new key in 300 ms (this thread is held while the start waits).
    spawn('sh', ['-c', `sleep 0.3; mv ${join(dir, 'next-key.pem')} ${files.svidKey}`], { stdio: 'ignore' });
    const w = watchIdentityFiles(files);
    assert.equal(w.provider.current.chain[0]!.serialNumber, new X509Certificate(next.certPem).serialNumber);
    w.stop();
    // A set that never checks out still fails, after the wait.
    writeFileSync(files.svidKey, old.keyPem);
    assert.throws(() => watchIdentityFiles(files), /does not match/);
  });
});
