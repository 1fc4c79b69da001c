// The workflow side of a vendor step: obtain a token (grant, refresh or install) and check its scopes, or
// probe a token that never expires, and read what happened as the machine's StepOutcome.
import { patched } from '@temporalio/workflow';
import { vendor } from './activity-proxies';
import { classifyFailure } from './classify-failure';
import { VERIFY_WITH_TOKEN } from './patches';
import { afterBudgetWaits } from './rate-budget-wait';
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
