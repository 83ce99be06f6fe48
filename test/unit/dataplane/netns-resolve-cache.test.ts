// resolveNetnsId remembers what it found (the file behind an inode URL, a path checked to be a namespace
// file) so the forwarder's hot path costs one stat per call; a namespace deleted or recreated under the same
// name must still be noticed at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailedPreconditionError } from '../../../src/api/errors.js';
import { statSync } from 'node:fs';
import { createNamedNetns, deleteNamedNetns, inodeUrlOf, ownNetns, resolveNetnsId, resolveNetnsIdNow } from '../../../src/dataplane/netns.js';

const root = process.getuid?.() === 0;

describe('resolveNetnsId cache', { skip: !root && 'needs root' }, () => {
  it('an inode URL resolves to its named namespace again, and fails once it is deleted', async () => {
    const name = `u${process.pid}rc`;
    await createNamedNetns(name);
    try {
      const url = await inodeUrlOf(name);
      const a = await resolveNetnsId(url);
      const b = await resolveNetnsId(url);
      assert.deepEqual(a, b);
      assert.deepEqual(a.ref, { kind: 'named', name });
    } finally {
      await deleteNamedNetns(name);
    }
  });
  it('a deleted name or inode URL is FAILED_PRECONDITION at once; a recreated name resolves again', async () => {
    const name = `u${process.pid}rd`;
    await createNamedNetns(name);
    let url: string;
    try {
      const first = await resolveNetnsId(name);
      url = await inodeUrlOf(name);
      await resolveNetnsId(url);
      await deleteNamedNetns(name);
      await assert.rejects(resolveNetnsId(name), FailedPreconditionError);
      await assert.rejects(resolveNetnsId(url), FailedPreconditionError);
      await createNamedNetns(name);
      // The kernel may hand the new namespace the freed inode number again: only its existence is checked here.
      const second = await resolveNetnsId(name);
      assert.deepEqual(second.ref, first.ref);
      assert.deepEqual((await resolveNetnsId(await inodeUrlOf(name))).ref, first.ref);
    } finally {
      await deleteNamedNetns(name);
    }
  });
  it('our own namespace is read on the main thread, the same for host, /proc/self and its inode URL', async () => {
    const st = statSync('/proc/self/ns/net');
    assert.equal(ownNetns().id, `${st.dev}:${st.ino}`);
    assert.equal((await resolveNetnsId('host')).id, ownNetns().id);
    assert.equal((await resolveNetnsId('file:///proc/self/ns/net')).id, ownNetns().id);
    assert.deepEqual((await resolveNetnsId(`inode://${st.dev}/${st.ino}`)).ref, { kind: 'host' });
  });
  it('resolveNetnsIdNow answers on this thread only what was resolved before, and nothing once it is gone', async () => {
    const name = `u${process.pid}rn`;
    await createNamedNetns(name);
    try {
      const st = statSync(`/var/run/netns/${name}`);
      const url = `inode://${st.dev}/${st.ino}`;
      assert.equal(resolveNetnsIdNow(name), undefined, 'a name never checked to be a namespace file');
      assert.equal(resolveNetnsIdNow(url), undefined, 'an inode URL never looked up');
      const byName = await resolveNetnsId(name);
      const byUrl = await resolveNetnsId(url);
      assert.deepEqual(resolveNetnsIdNow(name), byName);
      assert.deepEqual(resolveNetnsIdNow(url), byUrl);
      assert.deepEqual(resolveNetnsIdNow('host'), { ref: { kind: 'host' }, id: ownNetns().id });
      assert.equal(resolveNetnsIdNow('not a name!'), undefined, 'a malformed reference is left to resolveNetnsId to refuse');
      await deleteNamedNetns(name);
      assert.equal(resolveNetnsIdNow(name), undefined);
      assert.equal(resolveNetnsIdNow(url), undefined);
    } finally {
      await deleteNamedNetns(name);
    }
  });
});
