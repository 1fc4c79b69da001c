// An activity's failure in the state machine's vocabulary: the failure types the activities raise
// (domain/failures.ts) read as a refusal of the credentials or the vendor being unavailable.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../domain/failures';
import type { StepFailure } from './step-outcome';

export function classifyFailure(err: unknown): StepFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    switch (cause.type) {
      case FailureType.InvalidCredentials:
      case FailureType.TokenRejected:
        return { kind: 'rejected', reason: 'credentials_rejected', message: cause.message };
      case FailureType.InvalidConfiguration:
        return { kind: 'rejected', reason: 'invalid_configuration', message: cause.message };
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
