// When a connection's next check is due: ahead of its token's expiry (or every health interval for a
// token that never expires), before its credential expires, and later and later after failures.
import type { MachineSnapshot } from '../domain/connection';
import type { MaintenancePolicy } from '../domain/policy';

/** When to warn that the customer's own credential expires (Infinity: it never does). */
export function expiryWarningAt(s: MachineSnapshot, policy: MaintenancePolicy): number {
  return (s.credentialExpiresAt ?? Infinity) - policy.expiryWarningMs;
}

/** Next time a timer must fire for a healthy connection. */
export function nextHealthyCheck(
  s: MachineSnapshot,
  policy: MaintenancePolicy,
  random: () => number,
  now: number,
): number {
  let next: number;
  if (s.tokenExpiresAt !== null) {
    const lifetime = Math.max(0, s.tokenExpiresAt - (s.tokenObtainedAt ?? now));
    const lead = Math.min(lifetime * policy.refreshLeadFraction, policy.maxRefreshLeadMs);
    // Jitter spreads a fleet's refreshes so tokens issued together are not refreshed together.
    next = s.tokenExpiresAt - lead - random() * lead * 0.5;
  } else {
    next = now + policy.healthCheckIntervalMs * (0.9 + random() * 0.2);
  }
  if (s.credentialExpiresAt !== null) {
    next = Math.min(next, s.expiryWarned ? s.credentialExpiresAt : expiryWarningAt(s, policy));
  }
  return Math.max(next, now);
}

/** Exponential backoff with full jitter over the upper half, capped; Retry-After wins if longer. */
export function backoff(
  policy: MaintenancePolicy,
  random: () => number,
  failures: number,
  retryAfterMs = 0,
): number {
  const exp = policy.failureBackoffBaseMs * 2 ** Math.min(failures - 1, 30);
  const capped = Math.min(exp, policy.failureBackoffCapMs);
  return Math.max(capped / 2 + random() * (capped / 2), retryAfterMs);
}
