import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientError, ServerError } from 'nice-grpc-common';
import { AbortError } from 'abort-controller-x';
import {
  AlreadyExistsError,
  CancelledError,
  ConnectionClosedError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  MeshError,
  messageOf,
  NotFoundError,
  PermissionDeniedError,
  Status,
  statusOf,
  toServerError,
  UnavailableError,
} from '../../../src/api/errors.js';

describe('errors', () => {
  const cases: Array<[new (m: string) => MeshError, Status, string]> = [
    [InvalidArgumentError, Status.INVALID_ARGUMENT, 'InvalidArgumentError'],
    [FailedPreconditionError, Status.FAILED_PRECONDITION, 'FailedPreconditionError'],
    [NotFoundError, Status.NOT_FOUND, 'NotFoundError'],
    [UnavailableError, Status.UNAVAILABLE, 'UnavailableError'],
    [PermissionDeniedError, Status.PERMISSION_DENIED, 'PermissionDeniedError'],
    [DeadlineExceededError, Status.DEADLINE_EXCEEDED, 'DeadlineExceededError'],
    [CancelledError, Status.CANCELLED, 'CancelledError'],
  ];

  for (const [Ctor, status, name] of cases) {
    it(`${name} -> ${Status[status]}`, () => {
      const err = new Ctor('what happened');
      assert.ok(err instanceof MeshError);
      assert.ok(err instanceof Error);
      assert.equal(err.name, name);
      assert.equal(err.code, status);
      assert.equal(err.message, 'what happened');
      assert.equal(statusOf(err), status);
      assert.equal(messageOf(err), 'what happened');
      const se = toServerError(err);
      assert.ok(se instanceof ServerError);
      assert.equal(se.code, status);
      assert.equal(se.details, 'what happened');
    });
  }

  it('a MeshError with any code keeps it', () => {
    const se = toServerError(new MeshError(Status.RESOURCE_EXHAUSTED, 'full'));
    assert.equal(se.code, Status.RESOURCE_EXHAUSTED);
    assert.equal(se.details, 'full');
  });

  it('a plain Error becomes UNKNOWN with its message', () => {
    const se = toServerError(new Error('plain'));
    assert.equal(se.code, Status.UNKNOWN);
    assert.equal(se.details, 'plain');
    assert.equal(statusOf(new TypeError('t')), Status.UNKNOWN);
  });

  it('non-Error values become UNKNOWN with their string form', () => {
    assert.equal(toServerError('just a string').code, Status.UNKNOWN);
    assert.equal(toServerError('just a string').details, 'just a string');
    assert.equal(toServerError(42).details, '42');
    assert.equal(toServerError(undefined).code, Status.UNKNOWN);
  });

  it('AbortError (abort-controller-x, DOMException, named Error) becomes CANCELLED', () => {
    assert.equal(toServerError(new AbortError()).code, Status.CANCELLED);
    const ac = new AbortController();
    ac.abort();
    let thrown: unknown;
    try {
      ac.signal.throwIfAborted();
    } catch (e) {
      thrown = e;
    }
    assert.equal((thrown as Error).name, 'AbortError');
    assert.equal(toServerError(thrown).code, Status.CANCELLED);
    const named = new Error('stop');
    named.name = 'AbortError';
    assert.equal(statusOf(named), Status.CANCELLED);
  });

  it('a deadline (AbortSignal.timeout TimeoutError) becomes DEADLINE_EXCEEDED', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    assert.equal(statusOf(timeout), Status.DEADLINE_EXCEEDED);
    assert.equal(toServerError(timeout).code, Status.DEADLINE_EXCEEDED);
  });

  it('a ServerError passes through unchanged', () => {
    const se = new ServerError(Status.ALREADY_EXISTS, 'dup');
    assert.equal(toServerError(se), se);
    assert.equal(statusOf(se), Status.ALREADY_EXISTS);
    assert.equal(messageOf(se), 'dup');
  });

  it('a ClientError (from a next hop) passes through with its code and details', () => {
    const ce = new ClientError('/networkservice.NetworkService/Request', Status.UNAVAILABLE, 'peer down');
    assert.equal(statusOf(ce), Status.UNAVAILABLE);
    assert.equal(messageOf(ce), 'peer down');
    const se = toServerError(ce);
    assert.ok(se instanceof ServerError);
    assert.equal(se.code, Status.UNAVAILABLE);
    assert.equal(se.details, 'peer down');
  });

  it("rewrites grpc-js's unreachable-peer text into one readable phrase", () => {
    const raw = (e: string) => `No connection established. Last error: Error: connect ${e}. Resolution note: `;
    assert.equal(messageOf(new ClientError('/x', Status.UNAVAILABLE, raw('ENOENT /tmp/nope.sock'))), 'cannot connect: no socket at /tmp/nope.sock');
    assert.equal(messageOf(new Error(raw('ECONNREFUSED 127.0.0.1:1'))), 'cannot connect: nothing listens on 127.0.0.1:1');
    assert.equal(messageOf(new Error(raw('EPERM /x'))), 'cannot connect: connect EPERM /x');
    assert.equal(messageOf(new Error('No connection established. Last error: null. Resolution note: dns')), 'cannot connect: null');
    assert.equal(messageOf(new Error('something else. Resolution note: kept')), 'something else. Resolution note: kept');
    for (const m of [raw('ENOENT /a'), raw('ECONNREFUSED h:1')]) assert.doesNotMatch(messageOf(new Error(m)), /Resolution note|No connection established/);
  });

  it('errors have identity: classes to test with instanceof, and the original as cause', () => {
    const stderr = new Error('RTNETLINK answers: File exists');
    const exists = new AlreadyExistsError('interface "x" already exists', { cause: stderr });
    assert.ok(exists instanceof MeshError);
    assert.equal(statusOf(exists), Status.ALREADY_EXISTS);
    assert.equal(exists.cause, stderr);
    assert.equal(exists.name, 'AlreadyExistsError');
    const closed = new ConnectionClosedError('c-1');
    assert.equal(closed.connId, 'c-1');
    assert.ok(closed instanceof MeshError);
    assert.equal(new UnavailableError('peer down', { cause: closed }).cause, closed);
  });
});
