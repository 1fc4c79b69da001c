// An activity's failure in the state machine's vocabulary: the failure types the activities raise
// (domain/failures.ts) read as a refusal of the credentials, a configuration fault, scopes the vendor
// refused by name, or the vendor being unavailable.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../domain/failures';
import type { MissingScope } from '../domain/connection';
import type { StepFailure, StepOutcome } from './step-outcome';

export function classifyFailure(
  err: unknown,
): StepFailure | Extract<StepOutcome, { kind: 'insufficient_scopes' }> {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
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
  // Timeouts and other failures: treat as the vendor being unreachable.
  return { kind: 'unavailable', message: (cause as Error | undefined)?.message ?? 'activity failed' };
}
