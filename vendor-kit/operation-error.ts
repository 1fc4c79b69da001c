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
