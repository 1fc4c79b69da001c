// The state machine and the rules beside it on their own: no Temporal server, no I/O, a fixed clock
// and a fixed "random".
import {
  ConnectionMachine,
  type MachineOptions,
  type Step,
  type VendorStep,
} from '../workflows/connection-machine';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { classifyFailure } from '../workflows/classify-failure';
import { failedOutcome, verifiedOutcome, type StepOutcome } from '../workflows/step-outcome';
import { FailureType } from '../domain/failures';
import { DEFAULT_POLICY, type MaintenancePolicy } from '../domain/policy';
import { type ScopeVerification, type TokenInfo } from '../domain/connection';

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

test('insufficient scopes stop the timers until a human acts; a later refresh re-establishes', () => {
  const m = new ConnectionMachine(policy, () => 0.5);
  const t = m.onVendorStep(vendorStep(m, 0), { kind: 'insufficient_scopes', verification: lacking }, 0);
  m.finish();
  expect(t).toMatchObject({
    to: 'insufficient_scopes',
    patch: { missingScopes: [{ scope: 'a', purpose: 'p' }] },
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
    [FailureType.InvalidConfiguration, { kind: 'rejected', reason: 'invalid_configuration' }],
    [FailureType.RotationSuperseded, { kind: 'rejected', superseded: true }],
    [FailureType.ReauthRequired, { kind: 'rejected', final: true }],
    [FailureType.VendorUnavailable, { kind: 'unavailable' }],
  ] as const)('%s', (type, expected) => {
    expect(classifyFailure(failed(type))).toMatchObject({ ...expected, message: `${type}!` });
  });

  test('a long Retry-After travels with the outage; anything else is an outage too', () => {
    expect(classifyFailure(failed(FailureType.RateLimited, [{ retryAfterMs: 90_000 }]))).toEqual({
      kind: 'unavailable',
      message: 'RateLimited!',
      retryAfterMs: 90_000,
    });
    expect(classifyFailure(new Error('start-to-close timeout'))).toEqual({
      kind: 'unavailable',
      message: 'start-to-close timeout',
    });
  });
});
