// A vendor call that found tether's shared rate budget out says when its slot comes (RateBudgetWait): the
// workflow sleeps until then and calls again. Not a vendor failure: no backoff, no attempt used, no status.
import { ActivityFailure, ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import { FailureType } from '../domain/failures';
import { RATE_BUDGET_WAITS } from './patches';

/** How long to wait for the budget, or undefined for any other failure. */
export function budgetWaitOf(err: unknown): number | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FailureType.RateBudgetWait) return undefined;
  const details = cause.details?.[0] as { retryAfterMs?: number } | undefined;
  return details?.retryAfterMs ?? 1_000;
}

/** Run the call, waiting for the shared budget as often as it says so. */
export async function afterBudgetWaits<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const waitMs = budgetWaitOf(err);
      if (waitMs === undefined || !patched(RATE_BUDGET_WAITS)) throw err;
      await sleep(Math.max(waitMs, 1));
    }
  }
}
