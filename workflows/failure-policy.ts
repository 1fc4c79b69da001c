// What a failed vendor step does to a connection (README "Failure policy"): refusals of the credentials
// count toward needs_reauth, outages back off and recover by themselves, a link that keeps failing is
// announced and then given up, configuration faults are read by phase, and missing scopes are checked
// again with backoff. Each rule updates the snapshot and returns the change to apply; no I/O, no Temporal.
import type { MachineSnapshot, ScopeVerification, TokenInfo } from '../domain/connection';
import type { MaintenancePolicy } from '../domain/policy';
import {
  because,
  NEVER_LINKED,
  scopesPatch,
  succeeded,
  tokenPatch,
  WAITING_FOR_HUMAN,
} from './machine-state';
import type { Change, Origin } from './machine-state';
import { backoff } from './schedule';
import type { StepFailure } from './step-outcome';

export interface FailureRules {
  policy: MaintenancePolicy;
  random: () => number;
  /** Before LINK_DEADLINE a failing link kept trying, unannounced, forever. Asked when a threshold passes. */
  linksWaitForever: () => boolean;
  /** Before SCOPES_RECHECKED insufficient_scopes ran no timer. Asked at each missing-scope outcome. */
  scopesWaitForHuman: () => boolean;
}

/** A vendor step failed: `atLink` when the connection has never linked and this step was to link it. */
export function afterFailure(
  s: MachineSnapshot,
  rules: FailureRules,
  failure: StepFailure,
  atLink: boolean,
  origin: Origin,
  now: number,
): Change {
  const { policy, random } = rules;
  s.lastCheckAt = now;
  const failingSince = (s.failingSince ??= now);
  const said = { message: failure.message, patch: { lastCheckAt: now } };
  if (failure.kind === 'rejected') {
    const failed = { ...origin, reason: failure.reason, ...said };
    s.rejections += 1;
    // At link, or when a human already had to act, one rejection is enough: nothing ever worked.
    const final =
      failure.final ||
      atLink ||
      WAITING_FOR_HUMAN.includes(s.status) ||
      s.rejections >= policy.rejectionLimit;
    if (final) {
      s.nextCheckAt = null;
      const to = NEVER_LINKED.includes(s.status) ? 'invalid_credentials' : 'needs_reauth';
      return { ...failed, to, event: failure.reason };
    }
    s.nextCheckAt = now + backoff(policy, random, s.rejections);
    return { ...failed, to: 'degraded', event: failure.reason };
  }

  if (failure.kind === 'misconfigured')
    return afterConfigurationFault(s, rules, failure.message, origin, now);

  // unavailable: the vendor (or the network) failed even after the activity's own retries.
  const failed = { ...origin, reason: 'vendor_unavailable', ...said };
  s.failures += 1;
  s.nextCheckAt = now + backoff(policy, random, s.failures, failure.retryAfterMs);
  if (s.status === 'linking' && !s.awaitingInstall) {
    const failingFor = now - failingSince;
    if (failingFor >= policy.linkDeadlineMs && !rules.linksWaitForever()) {
      s.nextCheckAt = null;
      return {
        ...failed,
        to: 'link_failed',
        event: 'link_failed',
        message: `the link kept failing for ${duration(failingFor)} and stopped trying: ${failure.message}; refresh the connection to try again`,
      };
    }
    if (failingFor >= policy.linkDelayedAfterMs && !s.linkDelayAnnounced && !rules.linksWaitForever()) {
      s.linkDelayAnnounced = true;
      return { ...failed, to: 'linking', event: 'link_delayed' };
    }
  }
  const to = s.status === 'linking' || WAITING_FOR_HUMAN.includes(s.status) ? s.status : 'degraded';
  return { ...failed, to, event: 'vendor_unavailable' };
}

/**
 * The vendor answered as if the instance URL or settings were wrong. A connection that never linked has
 * its configuration to fix; one that worked is more likely hit by a DNS blip or a vendor's bad deploy, so
 * it is an outage, until such faults have persisted for configurationFaultLimitMs.
 */
function afterConfigurationFault(
  s: MachineSnapshot,
  { policy, random }: FailureRules,
  message: string,
  origin: Origin,
  now: number,
): Change {
  const patch = { lastCheckAt: now };
  s.failures += 1;
  if (!s.configurationProven) {
    s.nextCheckAt = null;
    return { ...origin, to: 'invalid_configuration', ...because('invalid_configuration'), message, patch };
  }
  s.misconfiguredSince ??= now;
  const persisted = now - s.misconfiguredSince;
  if (persisted >= policy.configurationFaultLimitMs) {
    s.nextCheckAt = null;
    return {
      ...origin,
      to: 'invalid_configuration',
      ...because('invalid_configuration'),
      message: `${message} (for ${duration(persisted)}: check that the instance URL and settings still point at your account, then refresh)`,
      patch,
    };
  }
  s.nextCheckAt = now + backoff(policy, random, s.failures);
  const to = WAITING_FOR_HUMAN.includes(s.status) ? s.status : 'degraded';
  return { ...origin, to, ...because('configuration_fault'), message, patch };
}

/**
 * The vendor answered, but without every required scope: the token is adopted (it proves the settings),
 * and the scopes are checked again with backoff, so permissions granted at the vendor later are noticed
 * without a command.
 */
export function afterMissingScopes(
  s: MachineSnapshot,
  { policy, random, scopesWaitForHuman }: FailureRules,
  token: TokenInfo | undefined,
  verification: ScopeVerification,
  origin: Origin,
  now: number,
): Change {
  const checks = s.failures + 1;
  const since = s.failingSince ?? now;
  succeeded(s, token, now);
  s.nextCheckAt = null;
  if (!scopesWaitForHuman()) {
    s.failures = checks;
    s.failingSince = since;
    s.nextCheckAt = now + backoff(policy, random, checks);
  }
  const names = verification.missing.map((m) => m.scope).join(', ');
  return {
    ...origin,
    to: 'insufficient_scopes',
    event: 'scopes_missing',
    reason: 'insufficient_scopes',
    message: `missing: ${names}`,
    patch: { ...tokenPatch(s), ...scopesPatch(verification), lastCheckAt: now },
  };
}

/** A duration as people read it in a message: 3 d, 24 h, 15 min, 40 s. */
export function duration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
  ];
  for (const [size, unit] of units) if (ms >= size) return `${Math.floor(ms / size)} ${unit}`;
  return `${Math.floor(ms / 1000)} s`;
}
