// Issue 19 item 5: a namespace reference that names a plain file (inodeURL
// file:///etc/passwd) is INVALID_ARGUMENT saying so, before any ip command runs; the
// kernel's own refusals reach callers without our ip command line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KernelDriver } from '../../../src/dataplane/kernel-driver.js';
import { resolveNetnsId } from '../../../src/dataplane/netns.js';
import { InvalidArgumentError, Status, statusOf } from '../../../src/api/errors.js';

describe('namespace files', () => {
  it('file:///etc/passwd is not a network namespace', async () => {
    await assert.rejects(resolveNetnsId('file:///etc/passwd'), (e: unknown) => e instanceof InvalidArgumentError && /\/etc\/passwd is not a network namespace/.test(e.message));
  });
  it('our own namespace is one', async () => {
    const r = await resolveNetnsId('file:///proc/self/ns/net');
    assert.match(r.id, /^\d+:\d+$/);
  });
  it('createVeth into file:///etc/passwd: INVALID_ARGUMENT naming the field, no ip command text', async () => {
    const d = new KernelDriver();
    try {
      await assert.rejects(
        d.createVeth({ name: 'nsm-x', netns: 'file:///etc/passwd', peerName: 'nsm-y', peerNetns: 'host', alias: 'nsm:c1' }),
        (e: unknown) => statusOf(e) === Status.INVALID_ARGUMENT && /^netns: .*is not a network namespace/.test((e as Error).message) && !/link add|RTNETLINK/.test((e as Error).message),
      );
    } finally {
      d.close();
    }
  });
});
