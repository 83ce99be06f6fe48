// Typed errors of the mesh and their mapping to gRPC status codes: the leaf of the
// import graph (nothing of the project below it), so every layer may throw and catch
// them. Chain elements throw these; the gRPC adapters turn them into ServerErrors.
// Code that reacts to an error tests its class (instanceof), never its message;
// a wrapping error keeps the original as `cause`.
import { ServerError, Status, ClientError } from 'nice-grpc-common';

export { Status };

/** An error that carries the gRPC status code it should be reported with. */
export class MeshError extends Error {
  constructor(
    readonly code: Status,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MeshError';
  }
}

export class InvalidArgumentError extends MeshError {
  constructor(message: string, options?: ErrorOptions) {
    super(Status.INVALID_ARGUMENT, message, options);
    this.name = 'InvalidArgumentError';
  }
}

export class FailedPreconditionError extends MeshError {
  constructor(message: string, options?: ErrorOptions) {
    super(Status.FAILED_PRECONDITION, message, options);
    this.name = 'FailedPreconditionError';
  }
}

export class NotFoundError extends MeshError {
  constructor(message: string, options?: ErrorOptions) {
    super(Status.NOT_FOUND, message, options);
    this.name = 'NotFoundError';
  }
}

export class UnavailableError extends MeshError {
  constructor(message: string, options?: ErrorOptions) {
    super(Status.UNAVAILABLE, message, options);
    this.name = 'UnavailableError';
  }
}

export class PermissionDeniedError extends MeshError {
  constructor(message: string, options?: ErrorOptions) {
    super(Status.PERMISSION_DENIED, message, options);
    this.name = 'PermissionDeniedError';
  }
}

export class DeadlineExceededError extends MeshError {
  constructor(message: string, options?: ErrorOptions) {
    super(Status.DEADLINE_EXCEEDED, message, options);
    this.name = 'DeadlineExceededError';
  }
}

export class CancelledError extends MeshError {
  constructor(message: string, options?: ErrorOptions) {
    super(Status.CANCELLED, message, options);
    this.name = 'CancelledError';
  }
}

/** Something this hop would create is there already (an interface left by an earlier life of the
 *  connection, or one another connection holds). */
export class AlreadyExistsError extends MeshError {
  constructor(message: string, options?: ErrorOptions) {
    super(Status.ALREADY_EXISTS, message, options);
    this.name = 'AlreadyExistsError';
  }
}

/** A bounded resource ran out (e.g. a watcher that fell too far behind). */
export class ResourceExhaustedError extends MeshError {
  constructor(message: string, options?: ErrorOptions) {
    super(Status.RESOURCE_EXHAUSTED, message, options);
    this.name = 'ResourceExhaustedError';
  }
}

/** The gRPC status code for any thrown value. */
export function statusOf(err: unknown): Status {
  if (err instanceof MeshError || err instanceof ServerError || err instanceof ClientError) return err.code;
  if (err instanceof Error && err.name === 'AbortError') return Status.CANCELLED;
  // A ctx deadline (AbortSignal.timeout) aborts with a DOMException named TimeoutError.
  if (err instanceof Error && err.name === 'TimeoutError') return Status.DEADLINE_EXCEEDED;
  return Status.UNKNOWN;
}

/** A short message for any thrown value (ClientError's "details" when present). */
export function messageOf(err: unknown): string {
  if (err instanceof ClientError || err instanceof ServerError) return readableTransportError(err.details);
  if (err instanceof Error) return readableTransportError(err.message);
  return String(err);
}

/** What the socket error of a failed connect means, in words. */
const CONNECT_ERRORS: Record<string, string> = {
  ENOENT: 'no socket at',
  ECONNREFUSED: 'nothing listens on',
  EACCES: 'permission denied on',
  ENOTSOCK: 'not a socket:',
  ETIMEDOUT: 'timed out connecting to',
  EHOSTUNREACH: 'no route to',
  ENETUNREACH: 'network unreachable for',
};

/**
 * grpc-js reports a peer it cannot reach as `No connection established. Last error: Error: connect
 * ENOENT /path. Resolution note: ...`; this makes it `cannot connect: no socket at /path`.
 */
export function readableTransportError(text: string): string {
  const m = /^No connection established\. Last error: (?:Error: )?([\s\S]*?)\.?(?: Resolution note:[\s\S]*)?$/.exec(text);
  if (!m) return text;
  const detail = m[1]!.trim();
  const c = /^connect (E[A-Z]+) (.+)$/.exec(detail);
  const words = c ? CONNECT_ERRORS[c[1]!] : undefined;
  return `cannot connect: ${words ? `${words} ${c![2]}` : detail || 'no connection'}`;
}

/** Converts anything thrown by a chain into the ServerError that gRPC sends back. */
export function toServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  return new ServerError(statusOf(err), messageOf(err));
}

/** A background event (refresh, heal) for a connection that was closed meanwhile. */
export class ConnectionClosedError extends MeshError {
  constructor(readonly connId: string) {
    super(Status.FAILED_PRECONDITION, `connection ${connId} is closed`);
    this.name = 'ConnectionClosedError';
  }
}
