// An activity's failure in the state machine's vocabulary: the failure types the activities raise
// (domain/failures.ts) read as a refusal of the credentials, a configuration fault, scopes the vendor
// refused by name, or the vendor being unavailable. The message becomes the connection's stored,
// tenant-visible reason: the vendor toolkit's messages are written for the customer; Temporal's own
// texts (timeouts, cancellation) and unexpected errors are not, so they are replaced by fixed ones.
import { ActivityFailure, ApplicationFailure, CancelledFailure, TimeoutFailure } from '@temporalio/workflow';
import { FailureType, INTERNAL_FAILURE_TYPE } from '../domain/failures';
import type { MissingScope } from '../domain/connection';
import type { StepFailure, StepOutcome } from './step-outcome';

/** What a customer reads for a failure whose own text was not written for them. */
export const UNEXPLAINED_FAILURE = {
  timeout: 'the vendor did not answer in time',
  cancelled: 'the attempt was cancelled before the vendor answered',
  internal: 'the attempt failed because of an error in tether',
} as const;

const KNOWN_TYPES: readonly string[] = Object.values(FailureType);

export function classifyFailure(
  err: unknown,
): StepFailure | Extract<StepOutcome, { kind: 'insufficient_scopes' }> {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type && KNOWN_TYPES.includes(cause.type)) {
    switch (cause.type) {
      case FailureType.InvalidCredentials:
      case FailureType.TokenRejected:
        return { kind: 'rejected', reason: 'credentials_rejected', message: cause.message };
      case FailureType.InvalidConfiguration:
        return { kind: 'misconfigured', message: cause.message };
      case FailureType.ScopesRefused: {
        // The token endpoint refused the grant over required scopes it named: nothing was granted.
        const details = cause.details?.[0] as { missingScopes?: MissingScope[] } | undefined;
        const missing = details?.missingScopes ?? [];
        return { kind: 'insufficient_scopes', verification: { granted: [], missing, probes: [] } };
      }
      case FailureType.RotationSuperseded:
        return { kind: 'rejected', reason: 'credentials_rejected', message: cause.message, superseded: true };
      case FailureType.ReauthRequired:
        return { kind: 'rejected', reason: 'credentials_rejected', message: cause.message, final: true };
      case FailureType.RateLimited: {
        const details = cause.details?.[0] as { retryAfterMs?: number } | undefined;
        return { kind: 'unavailable', message: cause.message, retryAfterMs: details?.retryAfterMs };
      }
    }
    return { kind: 'unavailable', message: cause.message };
  }
  // Timeouts, cancellation and errors the activities did not classify: read as the vendor being
  // unreachable (the next attempt may well work), said in words of our own.
  return { kind: 'unavailable', message: unexplainedFailure(cause) };
}

/**
 * Words for a failure whose own text is Temporal's or an unexpected error's. The raw text stays in the
 * workflow history (the activity's failure event) for operators.
 */
export function unexplainedFailure(cause: unknown): string {
  // An unclassified error the activity already replaced by tether's own words and an error id.
  if (cause instanceof ApplicationFailure && cause.type === INTERNAL_FAILURE_TYPE) return cause.message;
  if (cause instanceof TimeoutFailure) return UNEXPLAINED_FAILURE.timeout;
  if (cause instanceof CancelledFailure) return UNEXPLAINED_FAILURE.cancelled;
  return UNEXPLAINED_FAILURE.internal;
}
