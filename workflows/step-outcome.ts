// What a vendor step came to, in the machine's vocabulary, and the rules that read it: free of Temporal so
// the unit tests drive them with the machine.
import type { RotationOutcome, ScopeVerification, TokenInfo } from '../domain/connection';

/** Failure of a vendor step as the workflow classified it (classify-failure.ts). */
export type StepFailure =
  | {
      /** The vendor refused the credentials themselves (invalid_client, 401): counts toward needs_reauth. */
      kind: 'rejected';
      /** invalid_configuration: only in histories recorded before configuration faults had a kind of their own. */
      reason: 'credentials_rejected' | 'invalid_configuration';
      message: string;
      superseded?: boolean;
      /** Retrying cannot help (a refused refresh token): a human must act now, not after the rejection limit. */
      final?: boolean;
    }
  /**
   * The vendor answered as if the URL or settings were wrong (unknown host, 404, an HTML page, a 400 from
   * the token endpoint): at link, a setting to fix; on a connection that worked, an outage until it persists.
   */
  | { kind: 'misconfigured'; message: string }
  | { kind: 'unavailable'; message: string; retryAfterMs?: number };

export type StepOutcome =
  | { kind: 'ok'; token?: TokenInfo; verification?: ScopeVerification }
  | { kind: 'insufficient_scopes'; token?: TokenInfo; verification: ScopeVerification }
  | StepFailure;

/** A token obtained and its scopes checked. */
export function verifiedOutcome(token: TokenInfo, verification: ScopeVerification): StepOutcome {
  return verification.missing.length > 0
    ? { kind: 'insufficient_scopes', token, verification }
    : { kind: 'ok', token, verification };
}

/**
 * A token step that failed, perhaps after its token was obtained. A token that expired before its scopes
 * could be checked (a slow or restarted worker between the two activities) says nothing about the
 * credentials: the vendor is as good as unavailable, and the next attempt gets a new token.
 */
export function failedOutcome(failure: StepFailure, token: TokenInfo | undefined, now: number): StepFailure {
  if (failure.kind === 'rejected' && token?.expiresAt != null && now >= token.expiresAt) {
    return {
      kind: 'unavailable',
      message: `the new token expired before its scopes were verified: ${failure.message}`,
    };
  }
  return failure;
}

/**
 * What a rotation tells its caller: accepted only when the candidate was verified and promoted to live;
 * otherwise why not. A verified candidate that could not be promoted was replaced by a newer rotation.
 */
export function rotationOutcome(verified: StepOutcome, promoted: boolean): RotationOutcome {
  if (verified.kind === 'ok' && promoted) {
    return { outcome: 'accepted', grantedScopes: verified.verification?.granted ?? [] };
  }
  const missingScopes = verified.kind === 'insufficient_scopes' ? verified.verification.missing : [];
  const rejected = (
    reason: Extract<RotationOutcome, { outcome: 'rejected' }>['reason'],
    message: string,
  ) => ({
    outcome: 'rejected' as const,
    reason,
    message,
    missingScopes,
  });
  switch (verified.kind) {
    case 'ok':
      return rejected('superseded', 'a newer rotation replaced these credentials');
    case 'insufficient_scopes':
      return rejected('insufficient_scopes', 'the new credentials lack required scopes');
    case 'rejected':
      return rejected(verified.superseded ? 'superseded' : 'invalid_credentials', verified.message);
    case 'misconfigured':
      return rejected('invalid_configuration', verified.message);
    case 'unavailable':
      return rejected('vendor_unavailable', verified.message);
  }
}
