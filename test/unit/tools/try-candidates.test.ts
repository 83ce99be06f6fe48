import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError, NotFoundError, PermissionDeniedError, UnavailableError } from '../../../src/api/errors.js';
import { tryCandidates } from '../../../src/sdk/tools/try-candidates.js';

const signal = () => new AbortController().signal;

describe('try-candidates', () => {
  it('returns the first success, trying in order', async () => {
    const tried: number[] = [];
    const out = await tryCandidates([1, 2, 3], async (c) => {
      tried.push(c);
      if (c < 2) throw new UnavailableError(`down ${c}`);
      return c * 10;
    }, signal());
    assert.equal(out, 20);
    assert.deepEqual(tried, [1, 2]);
  });

  it('throws the last error when all fail', async () => {
    await assert.rejects(
      tryCandidates([1, 2], async (c) => {
        throw new NotFoundError(`nope ${c}`);
      }, signal()),
      /nope 2/,
    );
  });

  it('stops at once on INVALID_ARGUMENT and PERMISSION_DENIED', async () => {
    for (const E of [InvalidArgumentError, PermissionDeniedError]) {
      const tried: number[] = [];
      await assert.rejects(
        tryCandidates([1, 2], async (c) => {
          tried.push(c);
          throw new E('final');
        }, signal()),
        E,
      );
      assert.deepEqual(tried, [1]);
    }
  });

  it('stops when the signal is aborted', async () => {
    const ac = new AbortController();
    const tried: number[] = [];
    await assert.rejects(
      tryCandidates([1, 2], async (c) => {
        tried.push(c);
        ac.abort();
        throw new UnavailableError('x');
      }, ac.signal),
      UnavailableError,
    );
    assert.deepEqual(tried, [1]);
    await assert.rejects(tryCandidates([1], async () => 1, ac.signal), { name: 'AbortError' });
  });

  it('no candidates rejects with an error (not undefined)', async () => {
    await assert.rejects(tryCandidates([], async () => 1, signal()), (err: unknown) => err instanceof Error);
  });
});
