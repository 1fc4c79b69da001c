// The workflow side of a vendor step: obtain a token (grant, refresh or install) and check its scopes, or
// probe a token that never expires, and read what happened as the machine's StepOutcome.
import { ActivityFailure, ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import { vendor, vendorAfterLocalAttempt, vendorLocal } from './activity-proxies';
import { PERMANENT_FAILURES } from '../domain/failures';
import { classifyFailure } from './classify-failure';
import { VERIFY_WITH_TOKEN } from './patches';
import { afterBudgetWaits, budgetWaitOf } from './rate-budget-wait';
import { failedOutcome, verifiedOutcome, type StepOutcome } from './step-outcome';
import type { CredentialSlot, ScopeVerification, TokenInfo } from '../domain/connection';

/** Whose credentials: the live ones, or a rotation's candidate (pinned to it: a newer stage is not tried). */
export type CredentialsOf =
  { connectionId: string; slot: 'live' } | { connectionId: string; slot: 'candidate'; rotationId: string };

type Mode = 'full' | 'claims';

export function obtainAndVerify(of: CredentialsOf, mode: Mode): Promise<StepOutcome> {
  const verify = patched(VERIFY_WITH_TOKEN) ? { verify: mode } : {};
  return verified(() => afterBudgetWaits(() => vendor.obtainToken({ ...of, ...verify })), of, mode);
}

/**
 * A token step at the floor (REFRESH_AT_THE_FLOOR): one local attempt at the token, its scopes checked by
 * the same activity. A failure the regular activity would retry (the vendor unavailable, a timeout) goes
 * to it with the attempts left, scheduled in the same workflow task (after the vendor's Retry-After on a
 * timer when it gave one); a permanent one is the outcome, as it would have been there.
 */
export async function obtainedLocally(of: CredentialsOf, mode: Mode): Promise<StepOutcome> {
  const input = { ...of, verify: mode };
  try {
    const { verification, ...token } = await vendorLocal.obtainToken(input);
    return verifiedOutcome(token, verification!);
  } catch (err) {
    // The shared rate budget's slot is further than the local attempt waits in place: it holds the slot,
    // the workflow sleeps until it and calls the regular activity, all of whose attempts are left (the
    // vendor was not called). Not a vendor failure.
    const budgetWaitMs = budgetWaitOf(err);
    if (budgetWaitMs !== undefined) {
      await sleep(Math.max(budgetWaitMs, 1));
      return verified(() => afterBudgetWaits(() => vendor.obtainToken(input)), of, mode);
    }
    const retry = retryOf(err);
    if (!retry) return verified(() => Promise.reject(err), of, mode);
    if (retry.afterMs !== undefined) await sleep(retry.afterMs);
    return verified(() => afterBudgetWaits(() => vendorAfterLocalAttempt.obtainToken(input)), of, mode);
  }
}

/** Whether the regular activity would retry this failure, and the wait the vendor asked for; null: it would not. */
function retryOf(err: unknown): { afterMs?: number } | null {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure)) return {};
  if (cause.nonRetryable || PERMANENT_FAILURES.includes(cause.type as never)) return null;
  const details = cause.details?.[0] as { retryAfterMs?: number } | undefined;
  return details?.retryAfterMs === undefined ? {} : { afterMs: Math.max(details.retryAfterMs, 1) };
}

/** Get a token, then check its scopes unless the activity that got it already did. */
export async function verified(
  obtain: () => Promise<TokenInfo & { verification?: ScopeVerification }>,
  of: { connectionId: string; slot: CredentialSlot; rotationId?: string },
  mode: Mode,
): Promise<StepOutcome> {
  let token: TokenInfo | undefined;
  try {
    const { verification, ...obtained } = await obtain();
    token = obtained;
    const grantedScopes = token.grantedScopes;
    return verifiedOutcome(
      token,
      verification ?? (await afterBudgetWaits(() => vendor.verifyScopes({ ...of, mode, grantedScopes }))),
    );
  } catch (err) {
    const failure = classifyFailure(err);
    return failure.kind === 'insufficient_scopes' ? failure : failedOutcome(failure, token, Date.now());
  }
}

export function probed(connectionId: string): Promise<StepOutcome> {
  return afterBudgetWaits(() => vendor.probeHealth({ connectionId })).then(
    (): StepOutcome => ({ kind: 'ok' }),
    classifyFailure,
  );
}
