import { ApplicationFailure } from '@temporalio/activity';
import { VendorError } from '../lib/vendor-error';
import { FailureType } from '../workflows/types';

/**
 * Longest Retry-After honoured by retrying inside the activity. A longer wait becomes the workflow's
 * own timer, so commands (revoke, pause) are not stuck behind a sleeping activity.
 */
const MAX_INLINE_RETRY_AFTER_MS = 30_000;

/** Convert a VendorError into the ApplicationFailure Temporal retries (or not) accordingly. */
export function toActivityFailure(err: unknown): unknown {
  if (!(err instanceof VendorError)) return err;
  const details = err.retryAfterMs === undefined ? [] : [{ retryAfterMs: err.retryAfterMs }];
  if (err.type === FailureType.RateLimited) {
    if ((err.retryAfterMs ?? 0) <= MAX_INLINE_RETRY_AFTER_MS) {
      return ApplicationFailure.create({
        type: FailureType.VendorUnavailable,
        message: err.message,
        details,
        // Let the server schedule the retry when the vendor said, instead of sleeping here.
        nextRetryDelay: err.retryAfterMs ?? undefined,
      });
    }
    return ApplicationFailure.create({ type: err.type, message: err.message, details, nonRetryable: true });
  }
  return ApplicationFailure.create({
    type: err.type,
    message: err.message,
    details,
    nonRetryable: err.type !== FailureType.VendorUnavailable,
  });
}

export async function classified<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toActivityFailure(err);
  }
}
