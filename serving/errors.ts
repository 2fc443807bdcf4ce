/**
 * What went wrong with a request, independent of protocol: each kind maps to one HTTP status, one gRPC
 * status code and one Triton failure reason, so REST, gRPC and metrics always agree.
 */
export type ServingErrorKind =
  | 'invalid_argument'
  | 'not_found'
  | 'unavailable'
  | 'resource_exhausted'
  | 'deadline_exceeded'
  | 'cancelled'
  | 'payload_too_large'
  | 'method_not_allowed'
  | 'internal';

export class ServingError extends Error {
  constructor(
    readonly kind: ServingErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ServingError';
  }
}

export const HTTP_STATUS: Record<ServingErrorKind, number> = {
  invalid_argument: 400,
  not_found: 404,
  unavailable: 503,
  resource_exhausted: 429,
  // A request that waited its whole timeout in the queue: the server is overloaded, so retrying later helps.
  deadline_exceeded: 503,
  // Only the client itself sees this (it went away), so the status is informational.
  cancelled: 499,
  payload_too_large: 413,
  method_not_allowed: 405,
  internal: 500,
};

/** @grpc/grpc-js status codes (numeric values of grpc.status). */
export const GRPC_STATUS: Record<ServingErrorKind, number> = {
  invalid_argument: 3,
  not_found: 5,
  unavailable: 14,
  resource_exhausted: 8,
  deadline_exceeded: 4,
  cancelled: 1,
  payload_too_large: 8,
  method_not_allowed: 12,
  internal: 13,
};

/** Triton's `reason` label on nv_inference_request_failure. */
export type FailureReason = 'REJECTED' | 'CANCELED' | 'BACKEND' | 'OTHER';

export const FAILURE_REASON: Record<ServingErrorKind, FailureReason> = {
  invalid_argument: 'OTHER',
  not_found: 'OTHER',
  unavailable: 'REJECTED',
  resource_exhausted: 'REJECTED',
  deadline_exceeded: 'REJECTED',
  cancelled: 'CANCELED',
  payload_too_large: 'OTHER',
  method_not_allowed: 'OTHER',
  internal: 'BACKEND',
};

/** Any thrown value as a ServingError; unexpected ones become `internal` with their message kept. */
export function asServingError(err: unknown): ServingError {
  if (err instanceof ServingError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ServingError('internal', message);
}
