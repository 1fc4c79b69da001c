// A vendor's permanent refusal of a provisioning operation: retrying it cannot help, a person must act.
// Transient failures (429, 5xx, timeouts) stay VendorErrors and are retried.
import type { JobFailureReason } from '../domain/jobs';

export class OperationRefused extends Error {
  constructor(
    readonly reason: JobFailureReason,
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'OperationRefused';
  }
}

/** What a vendor's 4xx refusal of an operation means for the person who must act on it. */
export function refusalReason(status: number): JobFailureReason {
  switch (status) {
    case 401:
      return 'connection_needs_reauth';
    case 403:
      return 'missing_permission';
    case 404:
      return 'not_found';
    case 409:
      return 'uniqueness';
    default:
      return 'invalid_attribute';
  }
}
