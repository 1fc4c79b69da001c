// The state machine and the rules beside it on their own: no Temporal server, no I/O, a fixed clock
// and a fixed "random".
import { ConnectionMachine, type MachineOptions } from '../workflows/connection-machine';
import { stepForCommand, stepForTimer, type Step, type VendorStep } from '../workflows/machine-steps';
import { CommandQueue } from '../workflows/command-queue';
import { afterFailure, afterMissingScopes, duration, type FailureRules } from '../workflows/failure-policy';
import { applyChange, because, initialState } from '../workflows/machine-state';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  RetryState,
  TimeoutFailure,
} from '@temporalio/common';
import { classifyFailure, unexplainedFailure } from '../workflows/classify-failure';
import { failedOutcome, verifiedOutcome, type StepOutcome } from '../workflows/step-outcome';
import { FailureType } from '../domain/failures';
import { DEFAULT_POLICY, type MaintenancePolicy } from '../domain/policy';
import { type MachineSnapshot, type ScopeVerification, type TokenInfo } from '../domain/connection';
import { webhookEventFor } from '../domain/webhook-events';

const HOUR = 3_600_000;
const policy: MaintenancePolicy = {
  ...DEFAULT_POLICY,
  failureBackoffBaseMs: 1_000,
  failureBackoffCapMs: 8_000,
};
const verified: ScopeVerification = { granted: ['a'], missing: [], probes: [] };
const lacking: ScopeVerification = { granted: [], missing: [{ scope: 'a', purpose: 'p' }], probes: [] };
const token = (
  now: number,
  lifetimeMs: number | null,
  credentialExpiresAt: number | null = null,
): TokenInfo => ({
  obtainedAt: now,
  expiresAt: lifetimeMs === null ? null : now + lifetimeMs,
  grantedScopes: ['a'],
  credentialExpiresAt,
});
const ok = (now: number): StepOutcome => ({ kind: 'ok', token: token(now, HOUR), verification: verified });
const refused: StepOutcome = { kind: 'rejected', reason: 'credentials_rejected', message: '401' };

/** The next step, which the test expects to be one that asks the vendor. */
function vendorStep(m: ConnectionMachine, now: number): VendorStep {
  const step = m.nextStep(now);
  if (!['establish', 'refresh', 'probe', 'install'].includes(step.kind)) {
    throw new Error(`expected a vendor step, got ${JSON.stringify(step)}`);
  }
  return step as VendorStep;
}

function linked(
  now = 0,
  lifetimeMs: number | null = HOUR,
  credentialExpiresAt: number | null = null,
  options?: MachineOptions,
) {
  const m = new ConnectionMachine(policy, () => 0.5, undefined, options);
  const step = vendorStep(m, now);
  expect(step).toEqual({ kind: 'establish' });
  const t = m.onVendorStep(
    step,
    { kind: 'ok', token: token(now, lifetimeMs, credentialExpiresAt), verification: verified },
    now,
  );
  m.finish();
  return { m, t };
}

/** Linked, then paused: what a resume starts from. */
function paused() {
  const { m } = linked();
  m.enqueue({ kind: 'pause' });
  expect(m.nextStep(5)).toEqual({ kind: 'pause' });
  expect(m.onPause()).toMatchObject({ from: 'active', to: 'paused' });
  m.finish();
  return m;
}

test('a new connection links first, then waits until shortly before expiry', () => {
  const { m, t } = linked();
  expect(t).toMatchObject({ event: 'linked', from: 'linking', to: 'active', seq: 1 });
  const wait = m.nextStep(1_000) as Extract<Step, { kind: 'wait' }>;
  expect(wait.kind).toBe('wait');
  // lead = min(15% of 1 h, 10 min) = 9 min, jitter 0.5 × 50% → refresh at 60 − 9 − 2.25 min.
  expect(wait.untilMs).toBe(HOUR - 9 * 60_000 - 0.25 * 9 * 60_000);
  expect(m.nextStep(wait.untilMs!)).toEqual({ kind: 'refresh' });
});

test('the lead scales with the lifetime: a 10 s token refreshes 1.5 s (+ jitter) early', () => {
  const { m } = linked(0, 10_000);
  expect((m.nextStep(0) as any).untilMs).toBe(10_000 - 1_500 - 375);
});

test('a token that never expires is probed every health interval', () => {
  const { m } = linked(0, null);
  expect((m.nextStep(0) as any).untilMs).toBe(policy.healthCheckIntervalMs);
  expect(m.nextStep(policy.healthCheckIntervalMs)).toEqual({ kind: 'probe' });
});

test('a known credential expiry warns ahead, then needs re-authentication', () => {
  const expiry = 40 * 24 * HOUR;
  const { m, t } = linked(0, null, expiry);
  expect(t.to).toBe('active');
  const warnAt = expiry - policy.expiryWarningMs;
  // Health probes keep running until the warning date; the warning fires on time.
  let now = 0;
  for (;;) {
    const step = m.nextStep(now);
    if (step.kind === 'wait') {
      now = step.untilMs!;
      continue;
    }
    if (step.kind === 'warn_expiry') break;
    expect(step).toEqual({ kind: 'probe' });
    m.onVendorStep(step as VendorStep, { kind: 'ok', verification: verified }, now);
    m.finish();
  }
  expect(now).toBe(warnAt);
  expect(m.onWarnExpiry(now)).toMatchObject({ to: 'expiring', event: 'credential_expiring' });
  m.finish();
  while (m.nextStep(now).kind !== 'credential_expired') {
    const step = m.nextStep(now);
    if (step.kind === 'wait') now = step.untilMs!;
    else {
      m.onVendorStep(step as VendorStep, { kind: 'ok', verification: verified }, now);
      m.finish();
    }
  }
  expect(now).toBe(expiry);
  expect(m.onCredentialExpired()).toMatchObject({ to: 'needs_reauth', reason: 'credential_expired' });
});

test('vendor failures degrade with capped exponential backoff, then recover by themselves', () => {
  const { m } = linked();
  let now = HOUR;
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t = m.onVendorStep(vendorStep(m, now), { kind: 'unavailable', message: '503' }, now);
    m.finish();
    expect(t).toMatchObject({ to: 'degraded', patch: { consecutiveFailures: i + 1 } });
    delays.push(t.patch.nextCheckAt! - now);
    now = t.patch.nextCheckAt!;
  }
  // base 1 s doubling, capped at 8 s; jitter keeps each in the upper half (random fixed at 0.5 → 75 %).
  expect(delays).toEqual([750, 1_500, 3_000, 6_000, 6_000, 6_000]);
  const t = m.onVendorStep(vendorStep(m, now), ok(now), now);
  expect(t).toMatchObject({ to: 'active', event: 'recovered' });
  expect(t.patch.consecutiveFailures).toBe(0);
});

test('Retry-After longer than the backoff wins', () => {
  const { m } = linked();
  const t = m.onVendorStep(
    vendorStep(m, HOUR),
    { kind: 'unavailable', message: '429', retryAfterMs: 120_000 },
    HOUR,
  );
  expect(t.patch.nextCheckAt).toBe(HOUR + 120_000);
});

test('credential rejections: degraded first, needs_reauth at the limit; at link, invalid at once', () => {
  const { m } = linked();
  let now = HOUR;
  const seen = [];
  for (let i = 0; i < policy.rejectionLimit; i++) {
    const t = m.onVendorStep(vendorStep(m, now), refused, now);
    m.finish();
    seen.push([t.to, t.patch.consecutiveFailures]);
    now = t.patch.nextCheckAt ?? now;
  }
  // The count shows how close the connection is to needs_reauth.
  expect(seen).toEqual([
    ...Array.from({ length: policy.rejectionLimit - 1 }, (_, i) => ['degraded', i + 1]),
    ['needs_reauth', policy.rejectionLimit],
  ]);
  expect(m.nextStep(now + 100 * HOUR)).toEqual({ kind: 'wait', untilMs: null });

  const fresh = new ConnectionMachine(policy, () => 0.5);
  const t = fresh.onVendorStep(vendorStep(fresh, 0), { ...refused, message: 'x' }, 0);
  expect(t.to).toBe('invalid_credentials');
});

test('a token tether no longer uses shows no expiry; one that lacks scopes still does', () => {
  const { m } = linked();
  const degraded = m.onVendorStep(vendorStep(m, HOUR), refused, HOUR);
  expect(degraded.patch).not.toHaveProperty('tokenExpiresAt');
  m.finish();
  const final = { ...refused, final: true };
  expect(m.onVendorStep(vendorStep(m, 2 * HOUR), final, 2 * HOUR)).toMatchObject({
    to: 'needs_reauth',
    patch: { tokenExpiresAt: null, tokenObtainedAt: null },
  });
  m.finish();
  // A human acted: the re-establish's new token shows again.
  m.enqueue({ kind: 'refresh' });
  const step = m.nextStep(3 * HOUR);
  expect(step).toEqual({ kind: 'establish' });
  expect(m.onVendorStep(step as VendorStep, ok(3 * HOUR), 3 * HOUR)).toMatchObject({
    to: 'active',
    event: 'recovered',
    patch: { tokenExpiresAt: 4 * HOUR, consecutiveFailures: 0 },
  });

  const expired = linked(0, null, 10 * HOUR).m;
  const expiredPatch = expired.onCredentialExpired().patch;
  expect(expiredPatch).toMatchObject({ tokenExpiresAt: null, tokenObtainedAt: null });
  expect(expiredPatch).not.toHaveProperty('credentialExpiresAt');

  const scopes = new ConnectionMachine(policy, () => 0.5);
  const missing = { kind: 'insufficient_scopes' as const, token: token(0, HOUR), verification: lacking };
  expect(scopes.onVendorStep(vendorStep(scopes, 0), missing, 0).patch.tokenExpiresAt).toBe(HOUR);
});

describe('refresh commands', () => {
  test('join a queued refresh; commands run in arrival order', () => {
    const { m } = linked();
    expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(false);
    expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(true);
    m.enqueue({ kind: 'rotate', rotationId: 'r1' });
    expect(m.nextStep(10)).toEqual({ kind: 'refresh' });
    expect(m.nextStep(20)).toMatchObject({ kind: 'rotate', rotationId: 'r1' });
  });

  test('one arriving while a refresh or establish runs queues one more: its token request came before', () => {
    for (const [status, kind] of [
      ['active', 'refresh'],
      ['linking', 'establish'],
    ] as const) {
      const m = status === 'linking' ? new ConnectionMachine(policy, () => 0.5) : linked().m;
      if (status === 'active') m.enqueue({ kind: 'refresh' });
      const running = vendorStep(m, 10);
      expect(running.kind).toBe(kind);
      expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(false);
      expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(true); // joins the queued one
      m.onVendorStep(running, ok(10), 10);
      m.finish();
      expect(m.nextStep(20)).toEqual({ kind: 'refresh' });
      expect(m.refreshInFlight()).toBe(true);
    }
  });

  test('one arriving while a resume waits in the queue joins its re-establish', () => {
    const { m } = linked();
    m.enqueue({ kind: 'pause' });
    m.enqueue({ kind: 'resume' });
    expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(true);
    expect(m.nextStep(5)).toEqual({ kind: 'pause' });
    m.onPause();
    m.finish();
    expect(m.nextStep(6)).toEqual({ kind: 'establish', after: 'resume' });
    m.finish();
    expect(m.nextStep(7).kind).toBe('wait');
  });

  test('a resume with nothing to re-establish is not joined', () => {
    const { m } = linked();
    m.enqueue({ kind: 'resume' }); // not paused: it will do nothing
    expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(false);
    expect(m.nextStep(5)).toEqual({ kind: 'refresh' });
  });

  test('histories recorded before the change join a running refresh or establish, never a resume', () => {
    const legacy = { joinsRunningRefresh: () => true };
    const { m } = linked(0, HOUR, null, legacy);
    m.enqueue({ kind: 'refresh' });
    vendorStep(m, 10);
    expect(m.enqueue({ kind: 'refresh' })).toEqual({ ticket: 0, coalesced: true });
    m.finish();

    m.enqueue({ kind: 'pause' });
    m.enqueue({ kind: 'resume' });
    expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(false); // a queued resume: not joined
    m.nextStep(20);
    m.onPause();
    m.finish();
    expect(m.nextStep(21)).toEqual({ kind: 'establish', after: 'resume' });
    m.finish();
    expect(m.nextStep(22)).toEqual({ kind: 'refresh' });
    m.finish();

    // Then the re-establish ran inside a resume step, which a refresh did not join either.
    m.enqueue({ kind: 'pause' });
    m.nextStep(30);
    m.onPause();
    m.finish();
    m.enqueue({ kind: 'resume' });
    expect(m.nextStep(31)).toEqual({ kind: 'establish', after: 'resume' });
    expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(false);
  });

  test('the old rule is asked about only where the two rules differ', () => {
    let asked = 0;
    const { m } = linked(0, HOUR, null, { joinsRunningRefresh: () => (asked++, false) });
    m.enqueue({ kind: 'refresh' });
    m.enqueue({ kind: 'refresh' });
    expect(asked).toBe(0);
    vendorStep(m, 10);
    m.enqueue({ kind: 'refresh' });
    expect(asked).toBe(1);
  });
  test('the running step says whether a command began it (its status view too); a timer began it otherwise', () => {
    const m = new ConnectionMachine(policy, () => 0.5);
    const link = vendorStep(m, 0);
    expect(m.runsCommand()).toBe(false);
    expect(m.view('c', 'invgate')).toMatchObject({ busyWith: 'establish', busyWithCommand: false });
    m.onVendorStep(link, ok(0), 0);
    m.finish();
    m.enqueue({ kind: 'refresh' });
    const refresh = vendorStep(m, 10);
    expect(m.runsCommand()).toBe(true);
    expect(m.view('c', 'invgate')).toMatchObject({ busyWith: 'refresh', busyWithCommand: true });
    m.onVendorStep(refresh, ok(10), 10);
    m.finish();
    expect(m.view('c', 'invgate')).toMatchObject({ busyWith: null, busyWithCommand: false });
    // A resume with nothing to do leaves the step that is due to its timer.
    m.enqueue({ kind: 'resume' });
    expect(m.nextStep(m.snapshot().nextCheckAt!)).toEqual({ kind: 'refresh' });
    expect(m.runsCommand()).toBe(false);
  });
});

describe('pause and resume', () => {
  test('pause refuses refresh; resume is an explicit re-establish reported as one transition from paused', () => {
    const m = paused();
    expect(m.refuse('refresh')).toMatch(/paused/);
    expect(m.nextStep(100 * HOUR)).toEqual({ kind: 'wait', untilMs: null });
    m.enqueue({ kind: 'resume' });
    const step = m.nextStep(10);
    expect(step).toEqual({ kind: 'establish', after: 'resume' });
    // While it runs, the connection takes commands as it did before the pause.
    expect(m.refuse('refresh')).toBeNull();
    expect(m.onVendorStep(step as VendorStep, ok(10), 10)).toEqual({
      seq: 3,
      event: 'resumed',
      from: 'paused',
      to: 'active',
      reason: null,
      message: null,
      patch: expect.objectContaining({
        tokenExpiresAt: 10 + HOUR,
        lastSuccessAt: 10,
        consecutiveFailures: 0,
      }),
      detail: { resumed: true },
    });
  });

  test('a resume whose re-establish fails reports that failure, still from paused', () => {
    const m = paused();
    m.enqueue({ kind: 'resume' });
    const step = vendorStep(m, 10);
    expect(m.onVendorStep(step, { kind: 'unavailable', message: '503' }, 10)).toMatchObject({
      event: 'vendor_unavailable',
      from: 'paused',
      to: 'degraded',
      detail: { resumed: true },
    });
    m.finish();
    // Only that one transition says so.
    const next = vendorStep(m, HOUR);
    expect(m.onVendorStep(next, ok(HOUR), HOUR)).toMatchObject({
      event: 'recovered',
      from: 'degraded',
      detail: {},
    });
  });

  test('a resume of a connection that is not paused does nothing, but counts as a step', () => {
    const { m } = linked(0, HOUR, null);
    const small = new ConnectionMachine({ ...policy, maxStepsPerRun: 1 }, () => 0.5, m.snapshot());
    small.enqueue({ kind: 'resume' });
    expect(small.nextStep(5).kind).toBe('wait');
    expect(small.snapshot()).toEqual(m.snapshot());
    expect(small.runIsFull()).toBe(true);
  });
});

describe('rotation', () => {
  const rotate = (m: ConnectionMachine) => {
    m.enqueue({ kind: 'rotate', rotationId: 'r1' });
    expect(m.nextStep(10)).toMatchObject({ kind: 'rotate', rotationId: 'r1' });
  };

  test('a verified candidate that was promoted is accepted and its token adopted', () => {
    const { m } = linked();
    rotate(m);
    const { outcome, transition } = m.onRotation(ok(10), true, 10);
    expect(outcome).toEqual({ outcome: 'accepted', grantedScopes: ['a'] });
    expect(transition).toMatchObject({
      event: 'credentials_rotated',
      to: 'active',
      patch: { tokenObtainedAt: 10, tokenExpiresAt: 10 + HOUR },
    });
  });

  test.each([
    ['verified but not promoted', ok(10), 'superseded', 'a newer rotation replaced these credentials', []],
    [
      'missing scopes',
      { kind: 'insufficient_scopes', verification: lacking },
      'insufficient_scopes',
      'the new credentials lack required scopes',
      lacking.missing,
    ],
    ['refused', { ...refused, message: 'invalid_client' }, 'invalid_credentials', 'invalid_client', []],
    ['staged over', { ...refused, message: 'gone', superseded: true }, 'superseded', 'gone', []],
    ['vendor down', { kind: 'unavailable', message: '503' }, 'vendor_unavailable', '503', []],
  ] as [string, StepOutcome, string, string, unknown[]][])(
    'a candidate %s is rejected, leaving everything as it was',
    (_name, candidate, reason, message, missingScopes) => {
      const { m } = linked();
      const before = m.snapshot();
      rotate(m);
      const { outcome, transition } = m.onRotation(candidate, false, 10);
      expect(outcome).toEqual({ outcome: 'rejected', reason, message, missingScopes });
      expect(transition).toMatchObject({
        event: 'rotation_rejected',
        from: 'active',
        to: 'active',
        reason: undefined,
        detail: { rejection: reason, missingScopes },
      });
      expect(m.snapshot()).toEqual({ ...before, eventSeq: before.eventSeq + 1 });
    },
  );

  test('while paused an accepted rotation stays paused and resumes as active', () => {
    const m = paused();
    rotate(m);
    const { transition } = m.onRotation(ok(10), true, 10);
    expect(transition).toMatchObject({ to: 'paused', event: 'credentials_rotated', reason: 'paused' });
    expect(m.snapshot()).toMatchObject({ statusBeforePause: 'active', nextCheckAt: null });
  });
});

describe('what a token step came to', () => {
  test('all required scopes granted is ok; any missing is insufficient_scopes', () => {
    expect(verifiedOutcome(token(0, HOUR), verified)).toMatchObject({ kind: 'ok' });
    expect(verifiedOutcome(token(0, HOUR), lacking)).toMatchObject({
      kind: 'insufficient_scopes',
      verification: lacking,
    });
  });

  test('a token that expired before its scopes were checked is an outage, not a refusal', () => {
    const obtained = token(0, 1_000);
    expect(failedOutcome(refused, obtained, 1_000)).toEqual({
      kind: 'unavailable',
      message: 'the new token expired before its scopes were verified: 401',
    });
    // Still valid, never obtained, or never expiring: the refusal stands.
    expect(failedOutcome(refused, obtained, 999)).toBe(refused);
    expect(failedOutcome(refused, undefined, 1_000)).toBe(refused);
    expect(failedOutcome(refused, token(0, null), 1_000)).toBe(refused);
    const down = { kind: 'unavailable' as const, message: '503' };
    expect(failedOutcome(down, obtained, 5_000)).toBe(down);
  });
});

test('histories recorded before SCOPES_RECHECKED: insufficient scopes stop the timers until a human acts', () => {
  const m = new ConnectionMachine(policy, () => 0.5, undefined, { scopesWaitForHuman: () => true });
  const t = m.onVendorStep(vendorStep(m, 0), { kind: 'insufficient_scopes', verification: lacking }, 0);
  m.finish();
  expect(t).toMatchObject({
    to: 'insufficient_scopes',
    patch: { missingScopes: [{ scope: 'a', purpose: 'p' }], consecutiveFailures: 0, nextCheckAt: null },
  });
  expect(m.nextStep(HOUR)).toEqual({ kind: 'wait', untilMs: null });
  m.enqueue({ kind: 'refresh' });
  expect(m.nextStep(HOUR)).toEqual({ kind: 'establish' });
});

test('revoke overrides everything and ends the machine', () => {
  const { m } = linked();
  m.enqueue({ kind: 'revoke' });
  expect(m.refuse('refresh')).toMatch(/revoked/);
  expect(m.enqueue({ kind: 'revoke' }).coalesced).toBe(true);
  expect(m.nextStep(1)).toEqual({ kind: 'revoke' });
  expect(m.onRevokeStarted().to).toBe('revoking');
  expect(m.onRevoked('unsupported')).toMatchObject({
    to: 'revoked',
    patch: { tokenExpiresAt: null },
    detail: { vendorRevocation: 'unsupported' },
  });
  m.finish();
  expect(m.nextStep(3)).toEqual({ kind: 'done' });
});

test('a snapshot carries the state across continueAsNew; each run counts its own steps', () => {
  const { m } = linked(0, HOUR, null);
  const copy = new ConnectionMachine({ ...policy, maxStepsPerRun: 1 }, () => 0.5, m.snapshot());
  expect(copy.snapshot()).toEqual(m.snapshot());
  expect(copy.runIsFull()).toBe(false);
  expect(copy.nextStep(1)).toEqual(m.nextStep(1));
  copy.enqueue({ kind: 'refresh' });
  copy.nextStep(2);
  copy.finish();
  expect(copy.runIsFull()).toBe(true);
});

describe('linked by an OAuth install', () => {
  const installStep = (installId = 'i1') => ({ kind: 'install' as const, result: { installId } });
  const waiting = () => new ConnectionMachine(policy, () => 0.5, undefined, { awaitInstall: true });

  test('waits without a timer; only install and revoke are accepted meanwhile', () => {
    const m = waiting();
    expect(m.nextStep(100 * HOUR)).toEqual({ kind: 'wait', untilMs: null });
    for (const kind of ['refresh', 'pause', 'resume', 'rotate'] as const)
      expect(m.refuse(kind)).toMatch(/OAuth install/);
    expect(m.refuse('install')).toBeNull();
    expect(m.refuse('revoke')).toBeNull();
    m.enqueue({ kind: 'install', result: { installId: 'i1' } });
    expect(m.nextStep(5)).toEqual(installStep());
  });

  test('a completed install links like establish, then refreshes ahead of expiry', () => {
    const m = waiting();
    m.enqueue({ kind: 'install', result: { installId: 'i1' } });
    const install = m.nextStep(0) as Extract<Step, { kind: 'install' }>;
    const t = m.onInstall(install, ok(0), 0);
    m.finish();
    expect(t).toMatchObject({ event: 'linked', from: 'linking', to: 'active' });
    expect(m.snapshot().awaitingInstall).toBe(false);
    expect(m.refuse('refresh')).toBeNull();
    expect(m.nextStep(HOUR)).toEqual({ kind: 'refresh' });
    // A second install on the working connection is its own success.
    expect(m.onInstall(installStep('i2'), ok(HOUR), HOUR)).toMatchObject({ event: 'install_succeeded' });
  });

  test('a denied install keeps waiting, saying why; on a working connection it is only recorded', () => {
    const m = waiting();
    expect(m.onInstallDenied('access_denied')).toMatchObject({
      to: 'linking',
      event: 'install_denied',
      reason: 'install_denied',
      message: expect.stringContaining('access_denied'),
    });
    expect(m.nextStep(HOUR)).toEqual({ kind: 'wait', untilMs: null });
    expect(m.refuse('install')).toBeNull();

    const { m: active } = linked();
    const due = active.snapshot().nextCheckAt;
    expect(active.onInstallDenied('access_denied')).toMatchObject({
      to: 'active',
      reason: undefined,
      detail: { error: 'access_denied' },
    });
    expect(active.snapshot().nextCheckAt).toBe(due);
  });

  test('a failed install: a refused client is invalid_credentials, an outage keeps waiting, a superseded one is nothing', () => {
    const refusedClient = waiting();
    const t = refusedClient.onInstall(installStep(), { ...refused, message: 'bad_client_secret' }, 1);
    expect(t).toMatchObject({
      to: 'invalid_credentials',
      event: 'install_failed',
      message: 'bad_client_secret',
    });
    expect(refusedClient.refuse('install')).toBeNull();

    const down = waiting();
    expect(down.onInstall(installStep(), { kind: 'unavailable', message: '503' }, 1)).toMatchObject({
      to: 'linking',
      reason: 'vendor_unavailable',
    });
    expect(down.nextStep(HOUR)).toEqual({ kind: 'wait', untilMs: null });
    expect(down.refuse('refresh')).toMatch(/OAuth install/);

    const superseded = waiting();
    expect(
      superseded.onInstall(installStep(), { ...refused, message: 'newer', superseded: true }, 1),
    ).toBeNull();
    expect(superseded.snapshot().eventSeq).toBe(0);
  });

  test('an install the vendor made where it cannot work is invalid_configuration; a new install links it', () => {
    const m = waiting();
    const t = m.onInstall(
      installStep(),
      { kind: 'misconfigured', message: 'a workspace, not the organization' },
      1,
    );
    expect(t).toMatchObject({
      to: 'invalid_configuration',
      event: 'install_failed',
      reason: 'invalid_configuration',
    });
    expect(m.nextStep(HOUR)).toEqual({ kind: 'wait', untilMs: null });
    expect(m.refuse('install')).toBeNull();
    m.enqueue({ kind: 'install', result: { installId: 'i2' } });
    const again = m.nextStep(HOUR) as Extract<Step, { kind: 'install' }>;
    expect(m.onInstall(again, ok(HOUR), HOUR)).toMatchObject({
      from: 'invalid_configuration',
      to: 'active',
      event: 'linked',
    });
  });

  test('a failed re-install leaves a working connection as it was', () => {
    const { m } = linked();
    const before = m.snapshot();
    const t = m.onInstall(installStep(), { ...refused, message: 'invalid_code' }, 5);
    expect(t).toMatchObject({
      to: 'active',
      event: 'install_failed',
      reason: undefined,
      detail: { message: 'invalid_code' },
    });
    expect(m.snapshot()).toEqual({ ...before, eventSeq: before.eventSeq + 1 });
  });

  test('a refused refresh token (final) needs re-authentication at once, skipping degraded', () => {
    const { m } = linked();
    const t = m.onVendorStep(
      vendorStep(m, HOUR),
      { ...refused, message: 'invalid_refresh_token', final: true },
      HOUR,
    );
    expect(t.to).toBe('needs_reauth');
    expect(m.refuse('install')).toBeNull();
  });
});

describe('activity failures in the machine vocabulary', () => {
  const failed = (type: FailureType, details?: unknown[]) =>
    new ActivityFailure(
      'failed',
      'obtainToken',
      '1',
      RetryState.NON_RETRYABLE_FAILURE,
      undefined,
      ApplicationFailure.create({ type, message: `${type}!`, details }),
    );

  test.each([
    [FailureType.InvalidCredentials, { kind: 'rejected', reason: 'credentials_rejected' }],
    [FailureType.TokenRejected, { kind: 'rejected', reason: 'credentials_rejected' }],
    [FailureType.InvalidConfiguration, { kind: 'misconfigured' }],
    [FailureType.RotationSuperseded, { kind: 'rejected', superseded: true }],
    [FailureType.ReauthRequired, { kind: 'rejected', final: true }],
    [FailureType.VendorUnavailable, { kind: 'unavailable' }],
  ] as const)('%s', (type, expected) => {
    expect(classifyFailure(failed(type))).toMatchObject({ ...expected, message: `${type}!` });
  });

  test('scopes the token endpoint refused by name are missing scopes, with nothing granted', () => {
    const missingScopes = [{ scope: 'monitoring', purpose: 'read organizations' }];
    expect(classifyFailure(failed(FailureType.ScopesRefused, [{ missingScopes }]))).toEqual({
      kind: 'insufficient_scopes',
      verification: { granted: [], missing: missingScopes, probes: [] },
    });
  });

  test('a long Retry-After travels with the outage; anything else is an outage too', () => {
    expect(classifyFailure(failed(FailureType.RateLimited, [{ retryAfterMs: 90_000 }]))).toEqual({
      kind: 'unavailable',
      message: 'RateLimited!',
      retryAfterMs: 90_000,
    });
    expect(classifyFailure(failed(FailureType.VendorUnavailable))).toEqual({
      kind: 'unavailable',
      message: 'VendorUnavailable!',
    });
  });

  test("Temporal's own texts and unclassified errors never reach the stored reason: fixed words instead", () => {
    const of = (cause: Error) =>
      new ActivityFailure('failed', 'obtainToken', '1', RetryState.TIMEOUT, undefined, cause);
    const raw = [
      [
        of(new TimeoutFailure('activity StartToClose timeout', undefined, 'START_TO_CLOSE')),
        'the vendor did not answer in time',
      ],
      [
        of(new TimeoutFailure('activity Heartbeat timeout', undefined, 'HEARTBEAT')),
        'the vendor did not answer in time',
      ],
      [
        of(new CancelledFailure('Activity cancelled')),
        'the attempt was cancelled before the vendor answered',
      ],
      [
        of(
          ApplicationFailure.create({
            type: 'PrismaClientKnownRequestError',
            message: 'connect ECONNREFUSED 10.0.0.5:5432',
          }),
        ),
        'the attempt failed because of an error in tether',
      ],
      [new Error('start-to-close timeout'), 'the attempt failed because of an error in tether'],
    ] as const;
    for (const [err, human] of raw)
      expect(classifyFailure(err)).toEqual({ kind: 'unavailable', message: human });

    // What the connection stores and the tenant reads.
    const { m } = linked();
    const t = m.onVendorStep(vendorStep(m, HOUR), classifyFailure(raw[0][0]), HOUR);
    expect(t).toMatchObject({
      to: 'degraded',
      reason: 'vendor_unavailable',
      message: 'the vendor did not answer in time',
    });
    expect(JSON.stringify(t)).not.toMatch(/StartToClose|timeout/i);
  });

  test('a provisioning job whose every attempt timed out reads the same words', () => {
    expect(
      unexplainedFailure(new TimeoutFailure('activity StartToClose timeout', undefined, 'START_TO_CLOSE')),
    ).toBe('the vendor did not answer in time');
    expect(unexplainedFailure(undefined)).toBe('the attempt failed because of an error in tether');
  });
});

describe('configuration faults are read by phase', () => {
  const misconfigured: StepOutcome = {
    kind: 'misconfigured',
    message: 'host acme.invalid not found: check the instance URL',
  };

  test('at link: invalid_configuration, saying what to fix, with no timer and its own webhook', () => {
    const m = new ConnectionMachine(policy, () => 0.5);
    const t = m.onVendorStep(vendorStep(m, 0), misconfigured, 0);
    m.finish();
    expect(t).toMatchObject({
      from: 'linking',
      to: 'invalid_configuration',
      event: 'invalid_configuration',
      reason: 'invalid_configuration',
      message: 'host acme.invalid not found: check the instance URL',
      patch: { nextCheckAt: null, consecutiveFailures: 1, failingSince: 0 },
    });
    expect(webhookEventFor(t)).toBe('connection.invalid_configuration');
    expect(m.nextStep(100 * HOUR)).toEqual({ kind: 'wait', untilMs: null });
  });

  test('on a connection that worked: an outage with backoff that recovers by itself, never needs_reauth', () => {
    const { m } = linked();
    let now = HOUR;
    const seen = [];
    for (let i = 0; i < policy.rejectionLimit + 3; i++) {
      const t = m.onVendorStep(vendorStep(m, now), misconfigured, now);
      m.finish();
      seen.push([t.to, t.event, t.reason]);
      expect(t.patch.nextCheckAt).toBeGreaterThan(now);
      expect(t.patch.failingSince).toBe(HOUR);
      now = t.patch.nextCheckAt!;
    }
    expect(new Set(seen.map((s) => s.join(' ')))).toEqual(
      new Set(['degraded configuration_fault configuration_fault']),
    );
    const back = m.onVendorStep(vendorStep(m, now), ok(now), now);
    expect(back).toMatchObject({
      from: 'degraded',
      to: 'active',
      event: 'recovered',
      patch: { consecutiveFailures: 0, failingSince: null },
    });
  });

  test('persisting past configurationFaultLimitMs, it escalates to invalid_configuration saying what to check', () => {
    const { m } = linked();
    const limit = policy.configurationFaultLimitMs;
    let now = HOUR;
    let t = m.onVendorStep(vendorStep(m, now), misconfigured, now);
    m.finish();
    // Outages in between do not end the run of configuration faults; only a success does.
    now = HOUR + limit / 2;
    m.enqueue({ kind: 'refresh' });
    m.onVendorStep(vendorStep(m, now), { kind: 'unavailable', message: '503' }, now);
    m.finish();
    now = HOUR + limit;
    m.enqueue({ kind: 'refresh' });
    t = m.onVendorStep(vendorStep(m, now), misconfigured, now);
    m.finish();
    expect(t).toMatchObject({
      from: 'degraded',
      to: 'invalid_configuration',
      event: 'invalid_configuration',
      patch: { nextCheckAt: null, tokenExpiresAt: null },
    });
    expect(t.message).toMatch(
      /not found: check the instance URL \(for 3 d: check that the instance URL and settings still point at your account, then refresh\)/,
    );
    expect(m.nextStep(now + 100 * HOUR)).toEqual({ kind: 'wait', untilMs: null });
    // A human fixed it (or it came back): a refresh verifies again and recovers.
    m.enqueue({ kind: 'refresh' });
    const step = vendorStep(m, now + 1);
    expect(step).toEqual({ kind: 'establish' });
    expect(m.onVendorStep(step, ok(now + 1), now + 1)).toMatchObject({
      from: 'invalid_configuration',
      to: 'active',
      event: 'recovered',
    });
  });

  test('credential refusals still count toward needs_reauth; a configuration fault between them does not reset the count', () => {
    const { m } = linked();
    let now = HOUR;
    const outcomes = [refused, misconfigured, refused, refused];
    const seen = [];
    for (const outcome of outcomes) {
      const t = m.onVendorStep(vendorStep(m, now), outcome, now);
      m.finish();
      seen.push(t.to);
      now = t.patch.nextCheckAt ?? now;
    }
    expect(policy.rejectionLimit).toBe(3);
    expect(seen).toEqual(['degraded', 'degraded', 'degraded', 'needs_reauth']);
  });

  test('a rotation whose candidate meets a configuration fault is rejected as such, changing nothing', () => {
    const { m } = linked();
    m.enqueue({ kind: 'rotate', rotationId: 'r1' });
    m.nextStep(10);
    expect(m.onRotation(misconfigured, false, 10).outcome).toMatchObject({
      outcome: 'rejected',
      reason: 'invalid_configuration',
    });
    expect(m.status).toBe('active');
  });

  test('histories recorded before CONFIGURATION_FAULTS_BY_PHASE read them as refusals; asked only at such faults', () => {
    let asked = 0;
    const legacy = { configurationFaultsRefuse: () => (asked++, true) };
    const { m } = linked(0, HOUR, null, legacy);
    expect(asked).toBe(0);
    let now = HOUR;
    const seen = [];
    for (let i = 0; i < policy.rejectionLimit; i++) {
      const t = m.onVendorStep(vendorStep(m, now), misconfigured, now);
      m.finish();
      seen.push([t.to, t.reason]);
      now = t.patch.nextCheckAt ?? now;
    }
    expect(seen.at(-1)).toEqual(['needs_reauth', 'invalid_configuration']);
    expect(asked).toBe(policy.rejectionLimit);
    const atLink = new ConnectionMachine(policy, () => 0.5, undefined, legacy);
    expect(atLink.onVendorStep(vendorStep(atLink, 0), misconfigured, 0).to).toBe('invalid_credentials');
  });
});

describe('a link during a vendor outage', () => {
  const down: StepOutcome = { kind: 'unavailable', message: 'vendor answered HTTP 503' };
  /** Fails the link at each due check until `until`; returns the transitions. */
  function failUntil(m: ConnectionMachine, until: number, from = 0) {
    const seen = [];
    let now = from;
    while (now <= until) {
      const step = m.nextStep(now);
      if (step.kind === 'wait') {
        if (step.untilMs === null) break;
        now = step.untilMs;
        continue;
      }
      seen.push(m.onVendorStep(step as VendorStep, down, now));
      m.finish();
    }
    return seen;
  }

  test('keeps trying with backoff, says when it tries next, announces the delay once, then fails at the deadline', () => {
    const short = { ...policy, linkDelayedAfterMs: 60_000, linkDeadlineMs: 10 * 60_000 };
    const m = new ConnectionMachine(short, () => 0.5);
    const seen = failUntil(m, 20 * 60_000);
    const first = seen[0]!;
    expect(first).toMatchObject({
      to: 'linking',
      event: 'vendor_unavailable',
      reason: 'vendor_unavailable',
      message: 'vendor answered HTTP 503',
      patch: { nextCheckAt: 750, failingSince: 0 },
    });
    const delayed = seen.filter((t) => t.event === 'link_delayed');
    expect(delayed).toHaveLength(1);
    expect(delayed[0]).toMatchObject({ from: 'linking', to: 'linking', reason: 'vendor_unavailable' });
    expect(webhookEventFor(delayed[0]!)).toBe('connection.link_delayed');
    const last = seen.at(-1)!;
    expect(last).toMatchObject({
      from: 'linking',
      to: 'link_failed',
      event: 'link_failed',
      patch: { nextCheckAt: null },
    });
    expect(last.message).toBe(
      'the link kept failing for 10 min and stopped trying: vendor answered HTTP 503; refresh the connection to try again',
    );
    expect(webhookEventFor(last)).toBe('connection.link_failed');
    expect(seen.filter((t) => t.to === 'link_failed')).toHaveLength(1);
    expect(m.nextStep(100 * HOUR)).toEqual({ kind: 'wait', untilMs: null });

    // A refresh starts the link again, reported as leaving link_failed; the deadline counts anew.
    m.enqueue({ kind: 'refresh' });
    const relink = vendorStep(m, 100 * HOUR);
    expect(relink).toEqual({ kind: 'establish', after: 'relink', from: 'link_failed' });
    const again = m.onVendorStep(relink, down, 100 * HOUR);
    m.finish();
    expect(again).toMatchObject({
      from: 'link_failed',
      to: 'linking',
      event: 'vendor_unavailable',
      patch: { failingSince: 100 * HOUR },
    });
    const step = vendorStep(m, again.patch.nextCheckAt!);
    expect(m.onVendorStep(step, ok(again.patch.nextCheckAt!), again.patch.nextCheckAt!)).toMatchObject({
      from: 'linking',
      to: 'active',
      event: 'linked',
    });
  });

  test('a link that found the configuration wrong starts again on refresh too', () => {
    const m = new ConnectionMachine(policy, () => 0.5);
    m.onVendorStep(vendorStep(m, 0), { kind: 'misconfigured', message: '404' }, 0);
    m.finish();
    m.enqueue({ kind: 'refresh' });
    const step = vendorStep(m, 10);
    expect(step).toEqual({ kind: 'establish', after: 'relink', from: 'invalid_configuration' });
    expect(m.onVendorStep(step, ok(10), 10)).toMatchObject({
      from: 'invalid_configuration',
      to: 'active',
      event: 'linked',
    });
  });

  test('histories recorded before LINK_DEADLINE keep trying unannounced; asked only once a threshold passed', () => {
    let asked = 0;
    const short = { ...policy, linkDelayedAfterMs: 60_000, linkDeadlineMs: 10 * 60_000 };
    const m = new ConnectionMachine(short, () => 0.5, undefined, { linksWaitForever: () => (asked++, true) });
    const seen = failUntil(m, 9_000);
    expect(asked).toBe(0);
    seen.push(...failUntil(m, 30 * 60_000, seen.at(-1)!.patch.nextCheckAt!));
    expect(new Set(seen.map((t) => `${t.to} ${t.event}`))).toEqual(new Set(['linking vendor_unavailable']));
    expect(asked).toBeGreaterThan(0);
  });

  test('waiting for an OAuth install has no deadline: it waits for the customer', () => {
    const m = new ConnectionMachine({ ...policy, linkDeadlineMs: 1 }, () => 0.5, undefined, {
      awaitInstall: true,
    });
    m.enqueue({ kind: 'install', result: { installId: 'i1' } });
    const install = m.nextStep(0) as Extract<Step, { kind: 'install' }>;
    expect(m.onInstall(install, down, 5)).toMatchObject({ to: 'linking', reason: 'vendor_unavailable' });
    expect(m.nextStep(HOUR)).toEqual({ kind: 'wait', untilMs: null });
  });
});

describe('permissions', () => {
  const withOptional: ScopeVerification = {
    granted: ['a'],
    missing: [],
    missingOptional: [{ scope: 'assets', purpose: 'attach devices' }],
    probes: [],
  };

  test('a missing optional permission leaves the connection active, listing it with the feature it disables', () => {
    const m = new ConnectionMachine(policy, () => 0.5);
    const t = m.onVendorStep(vendorStep(m, 0), verifiedOutcome(token(0, HOUR), withOptional), 0);
    expect(t).toMatchObject({
      to: 'active',
      event: 'linked',
      patch: { missingScopes: [], missingOptionalScopes: [{ scope: 'assets', purpose: 'attach devices' }] },
    });
  });

  test('insufficient scopes are checked again with backoff; a grant at the vendor is noticed without a command', () => {
    const m = new ConnectionMachine(policy, () => 0.5);
    const missing = { kind: 'insufficient_scopes' as const, token: token(0, HOUR), verification: lacking };
    let now = 0;
    const delays = [];
    for (let i = 0; i < 5; i++) {
      const t = m.onVendorStep(vendorStep(m, now), missing, now);
      m.finish();
      expect(t).toMatchObject({
        to: 'insufficient_scopes',
        patch: { consecutiveFailures: i + 1, failingSince: 0 },
      });
      delays.push(t.patch.nextCheckAt! - now);
      now = t.patch.nextCheckAt!;
      // The timer re-establishes: a new token and every probe.
      expect(m.nextStep(now)).toEqual({ kind: 'establish' });
      m.finish();
      m.enqueue({ kind: 'refresh' });
    }
    expect(delays).toEqual([750, 1_500, 3_000, 6_000, 6_000]);
    const t = m.onVendorStep(vendorStep(m, now), ok(now), now);
    expect(t).toMatchObject({
      from: 'insufficient_scopes',
      to: 'active',
      event: 'recovered',
      patch: { consecutiveFailures: 0 },
    });
    expect(webhookEventFor(t)).toBe('connection.recovered');
  });

  test('a required scope removed at the vendor is noticed at the next refresh, with a webhook', () => {
    const { m } = linked();
    const step = vendorStep(m, (m.nextStep(0) as any).untilMs);
    expect(step).toEqual({ kind: 'refresh' });
    const t = m.onVendorStep(
      step,
      { kind: 'insufficient_scopes', token: token(HOUR, HOUR), verification: lacking },
      HOUR,
    );
    expect(t).toMatchObject({
      from: 'active',
      to: 'insufficient_scopes',
      patch: { missingScopes: lacking.missing },
    });
    expect(webhookEventFor(t)).toBe('connection.insufficient_scopes');
    expect(t.patch.nextCheckAt).not.toBeNull();
  });
});

test('a snapshot carried by a run of older code gets the fields it lacked', () => {
  const { m } = linked();
  const older = m.snapshot() as Partial<ReturnType<ConnectionMachine['snapshot']>>;
  for (const field of [
    'configurationProven',
    'failingSince',
    'misconfiguredSince',
    'linkDelayAnnounced',
  ] as const)
    delete older[field];
  const carried = new ConnectionMachine(
    policy,
    () => 0.5,
    older as ReturnType<ConnectionMachine['snapshot']>,
  );
  expect(carried.snapshot()).toMatchObject({
    configurationProven: true,
    failingSince: null,
    misconfiguredSince: null,
    linkDelayAnnounced: false,
  });
  const linking = new ConnectionMachine(policy, () => 0.5).snapshot() as Partial<
    ReturnType<ConnectionMachine['snapshot']>
  >;
  delete linking.configurationProven;
  expect(new ConnectionMachine(policy, () => 0.5, linking as any).snapshot().configurationProven).toBe(false);
});

describe("the machine's parts on their own", () => {
  const rules: FailureRules = {
    policy,
    random: () => 0.5,
    linksWaitForever: () => false,
    scopesWaitForHuman: () => false,
  };
  const active = (): MachineSnapshot => ({
    ...initialState(false),
    status: 'active',
    tokenObtainedAt: 0,
    tokenExpiresAt: HOUR,
    configurationProven: true,
  });

  test('applyChange numbers each transition and stores no token for a status that cannot use one', () => {
    const s = active();
    s.failures = 2;
    s.nextCheckAt = 5;
    expect(applyChange(s, { to: 'degraded', event: 'vendor_unavailable' })).toMatchObject({
      seq: 1,
      from: 'active',
      to: 'degraded',
      patch: { nextCheckAt: 5, consecutiveFailures: 2 },
    });
    const t = applyChange(s, { to: 'needs_reauth', ...because('credentials_rejected') });
    expect(t).toMatchObject({ seq: 2, from: 'degraded', reason: 'credentials_rejected', message: null });
    expect(t.patch).toMatchObject({ tokenObtainedAt: null, tokenExpiresAt: null });
    expect(s).toMatchObject({ status: 'needs_reauth', eventSeq: 2, tokenExpiresAt: HOUR });
  });

  test('the queue refuses by state, coalesces revokes and hands a rotation outcome out once', () => {
    const queue = new CommandQueue(() => false);
    const s = active();
    expect(queue.refuse('refresh', { ...s, awaitingInstall: true })).toMatch(/OAuth install/);
    expect(queue.enqueue({ kind: 'pause' }, s, null)).toEqual({ ticket: 1, coalesced: false });
    expect(queue.refuse('refresh', s)).toMatch(/paused/);
    expect(queue.enqueue({ kind: 'revoke' }, s, null)).toEqual({ ticket: 2, coalesced: false });
    expect(queue.enqueue({ kind: 'revoke' }, s, null)).toEqual({ ticket: 0, coalesced: true });
    expect(queue.refuse('pause', s)).toMatch(/being revoked/);
    expect(queue.refuse('revoke', s)).toBeNull();
    expect(queue.kinds()).toEqual(['pause', 'revoke']);
    expect(queue.refreshInFlight({ kind: 'establish' })).toBe(true);
    expect(queue.refreshInFlight({ kind: 'probe' })).toBe(false);

    const accepted = { outcome: 'accepted' as const, grantedScopes: ['a'] };
    queue.settleRotation(7, accepted);
    expect(queue.takeRotationOutcome(7)).toEqual(accepted);
    expect(queue.takeRotationOutcome(7)).toBeUndefined();
  });

  test('a refresh command relinks a failed link from scratch; a timer picks the check that is due', () => {
    const s: MachineSnapshot = {
      ...initialState(false),
      status: 'link_failed',
      failures: 4,
      failingSince: 1,
    };
    expect(stepForCommand(s, { kind: 'refresh', ticket: 1 })).toEqual({
      kind: 'establish',
      after: 'relink',
      from: 'link_failed',
    });
    expect(s).toMatchObject({ status: 'linking', failures: 0, failingSince: null });
    expect(stepForCommand(active(), { kind: 'resume', ticket: 2 })).toBeNull();

    expect(stepForTimer(active(), policy, 0)).toEqual({ kind: 'refresh' });
    expect(stepForTimer({ ...active(), tokenExpiresAt: null }, policy, 0)).toEqual({ kind: 'probe' });
    const expiring = { ...active(), credentialExpiresAt: policy.expiryWarningMs + 10 };
    expect(stepForTimer(expiring, policy, 10)).toEqual({ kind: 'warn_expiry' });
    expect(stepForTimer(expiring, policy, policy.expiryWarningMs + 10)).toEqual({
      kind: 'credential_expired',
    });
  });

  test('the failure policy: a refusal at link is final; an outage past the link deadline gives up, saying for how long', () => {
    const linking = initialState(false);
    expect(afterFailure(linking, rules, refused, true, {}, 0)).toMatchObject({
      to: 'invalid_credentials',
      event: 'credentials_rejected',
    });
    expect(linking.nextCheckAt).toBeNull();

    const failing = { ...initialState(false), failingSince: 0 };
    const outage = { kind: 'unavailable' as const, message: 'HTTP 503' };
    expect(afterFailure(failing, rules, outage, true, {}, policy.linkDeadlineMs)).toMatchObject({
      to: 'link_failed',
      message:
        'the link kept failing for 1 d and stopped trying: HTTP 503; refresh the connection to try again',
    });
    expect([40_000, 900_000, 86_399_999, 3 * 86_400_000].map(duration)).toEqual([
      '40 s',
      '15 min',
      '23 h',
      '3 d',
    ]);

    const s = active();
    const missing = afterMissingScopes(s, rules, undefined, lacking, {}, 10);
    expect(missing).toMatchObject({ to: 'insufficient_scopes', message: 'missing: a' });
    expect(s).toMatchObject({ failures: 1, failingSince: 10, nextCheckAt: 10 + 750 });
  });
});
