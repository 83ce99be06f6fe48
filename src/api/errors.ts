// Typed errors of the mesh and their mapping to gRPC status codes.
// Chain elements throw these; the gRPC adapters turn them into ServerErrors.
import { ServerError, Status, ClientError } from 'nice-grpc-common';

export { Status };

/** An error that carries the gRPC status code it should be reported with. */
export class MeshError extends Error {
  constructor(
    readonly code: Status,
    message: string,
  ) {
    super(message);
    this.name = 'MeshError';
  }
}

export class InvalidArgumentError extends MeshError {
  constructor(message: string) {
    super(Status.INVALID_ARGUMENT, message);
    this.name = 'InvalidArgumentError';
  }
}

export class FailedPreconditionError extends MeshError {
  constructor(message: string) {
    super(Status.FAILED_PRECONDITION, message);
    this.name = 'FailedPreconditionError';
  }
}

export class NotFoundError extends MeshError {
  constructor(message: string) {
    super(Status.NOT_FOUND, message);
    this.name = 'NotFoundError';
  }
}

export class UnavailableError extends MeshError {
  constructor(message: string) {
    super(Status.UNAVAILABLE, message);
    this.name = 'UnavailableError';
  }
}

export class PermissionDeniedError extends MeshError {
  constructor(message: string) {
    super(Status.PERMISSION_DENIED, message);
    this.name = 'PermissionDeniedError';
  }
}

export class DeadlineExceededError extends MeshError {
  constructor(message: string) {
    super(Status.DEADLINE_EXCEEDED, message);
    this.name = 'DeadlineExceededError';
  }
}

export class CancelledError extends MeshError {
  constructor(message: string) {
    super(Status.CANCELLED, message);
    this.name = 'CancelledError';
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
  if (err instanceof ClientError || err instanceof ServerError) return err.details;
  if (err instanceof Error) return err.message;
  return String(err);
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
