// Unit: the veth queue count KernelDriver asks the kernel for (option, NSM_VETH_QUEUES, default 1).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../../src/api/errors.js';
import { vethQueuesFrom } from '../../../src/dataplane/kernel-driver.js';

test('one queue each way unless told otherwise; 0 or `kernel`: the kernel default (undefined)', () => {
  assert.equal(vethQueuesFrom(undefined, undefined), 1);
  assert.equal(vethQueuesFrom(undefined, ''), 1);
  assert.equal(vethQueuesFrom(undefined, '4'), 4);
  assert.equal(vethQueuesFrom(undefined, 'kernel'), undefined);
  assert.equal(vethQueuesFrom(undefined, '0'), undefined);
  assert.equal(vethQueuesFrom(2, 'kernel'), 2, 'the option wins over the environment');
  assert.equal(vethQueuesFrom(0, undefined), undefined);
});

test('anything else is refused', () => {
  for (const v of ['x', '-1', '1.5', '5000']) assert.throws(() => vethQueuesFrom(undefined, v), InvalidArgumentError, v);
});
