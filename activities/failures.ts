import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { TemporalFailure } from '@temporalio/common';
import { VendorError } from '../vendor-kit/vendor-error';
import { BudgetExhausted } from '../vendor-kit/rate-limits';
import { FailureType, INTERNAL_FAILURE_TYPE } from '../domain/failures';
import { budgetWaitFailure } from './rate-budgets';

/**
 * Longest Retry-After honoured by retrying inside the activity. A longer wait becomes the workflow's
 * own timer, so commands (revoke, pause) are not stuck behind a sleeping activity.
 */
const MAX_INLINE_RETRY_AFTER_MS = 30_000;

/**
 * An error nothing classified (a Prisma error, a TypeError, a gRPC error): its text names internals, and a
 * failure's message becomes a connection's or a job's reason in the audit trail and webhooks. So the
 * failure says only "internal error (error id …)"; the original goes to the worker's log under that id.
 * Temporal's own failures (a cancellation, an ApplicationFailure raised on purpose) pass as they are.
 */
export function internalFailure(err: unknown): unknown {
  if (err instanceof TemporalFailure) return err;
  const errorId = randomUUID();
  Context.current().log.error('unclassified activity failure', { errorId, error: err });
  return ApplicationFailure.create({
    type: INTERNAL_FAILURE_TYPE,
    message: `internal error (error id ${errorId})`,
  });
}

/**
 * When the vendor's Retry-After says the next attempt should go, at most maxMs away; undefined leaves it to
 * the retry policy's backoff. "Retry after 0 s" (or a date already past) is no wait at all: the backoff
 * spaces those, or the retries of a vendor that keeps refusing would all go at once and use up the attempts
 * in milliseconds.
 */
export function vendorRetryDelay(err: VendorError, maxMs = Number.POSITIVE_INFINITY): number | undefined {
  return err.retryAfterMs ? Math.min(err.retryAfterMs, maxMs) : undefined;
}

/** Convert a VendorError into the ApplicationFailure Temporal retries (or not) accordingly. */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof BudgetExhausted) return budgetWaitFailure(err);
  if (!(err instanceof VendorError)) return internalFailure(err);
  const details =
    err.retryAfterMs !== undefined
      ? [{ retryAfterMs: err.retryAfterMs }]
      : err.missingScopes
        ? [{ missingScopes: err.missingScopes }]
        : [];
  if (err.type === FailureType.RateLimited) {
    if ((err.retryAfterMs ?? 0) <= MAX_INLINE_RETRY_AFTER_MS) {
      return ApplicationFailure.create({
        type: FailureType.VendorUnavailable,
        message: err.message,
        details,
        // Let the server schedule the retry when the vendor said, instead of sleeping here.
        nextRetryDelay: vendorRetryDelay(err),
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

/**
 * Run a vendor-facing activity: classify its failure for Temporal, and count it and time it in
 * the worker's metrics (tether_vendor_calls, tether_vendor_call_latency in ms), by vendor and outcome.
 */
export async function classified<T>(work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  let outcome = 'ok';
  try {
    return await work();
  } catch (err) {
    const failure = toActivityFailure(err);
    outcome = failure instanceof ApplicationFailure ? (failure.type ?? 'error') : 'error';
    throw failure;
  } finally {
    record(outcome, Date.now() - started);
  }
}

const vendorOfCall = new WeakMap<Context, string>();

/** Called once the activity knows which vendor it talks to, so its metrics carry the vendor. */
export function tagVendor(vendor: string): void {
  vendorOfCall.set(Context.current(), vendor);
}

function record(outcome: string, latencyMs: number): void {
  const context = Context.current();
  // The SDK adds activityType, namespace and taskQueue itself.
  const tags = { vendor: vendorOfCall.get(context) ?? 'unknown' };
  const meter = context.metricMeter;
  meter.createCounter('tether_vendor_calls', 'calls', 'Vendor-facing activity attempts by outcome').add(1, {
    ...tags,
    outcome,
  });
  meter
    .createHistogram('tether_vendor_call_latency', 'int', 'ms', 'Vendor-facing activity attempt latency')
    .record(latencyMs, tags);
}
