// The state machine on its own: no Temporal, no I/O, a fixed clock and a fixed "random".
import { ConnectionMachine, type Step } from '../workflows/connection-machine';
import { DEFAULT_POLICY, type MaintenancePolicy } from '../domain/policy';
import { type ScopeVerification, type TokenInfo } from '../domain/connection';

const HOUR = 3_600_000;
const policy: MaintenancePolicy = {
  ...DEFAULT_POLICY,
  failureBackoffBaseMs: 1_000,
  failureBackoffCapMs: 8_000,
};
const verified: ScopeVerification = { granted: ['a'], missing: [], probes: [] };
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

function linked(now = 0, lifetimeMs: number | null = HOUR, credentialExpiresAt: number | null = null) {
  const m = new ConnectionMachine(policy, () => 0.5);
  const step = m.nextStep(now);
  expect(step).toEqual({ kind: 'establish' });
  const t = m.onVendorStep(
    step,
    { kind: 'ok', token: token(now, lifetimeMs, credentialExpiresAt), verification: verified },
    now,
  );
  m.finish();
  return { m, t };
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
    expect(step.kind).toBe('probe');
    m.onVendorStep(step, { kind: 'ok', verification: verified }, now);
    m.finish();
  }
  expect(now).toBe(warnAt);
  expect(m.onWarnExpiry(now)).toMatchObject({ to: 'expiring', event: 'credential_expiring' });
  m.finish();
  while (m.nextStep(now).kind !== 'credential_expired') {
    const step = m.nextStep(now);
    if (step.kind === 'wait') now = step.untilMs!;
    else {
      m.onVendorStep(step, { kind: 'ok', verification: verified }, now);
      m.finish();
    }
  }
  expect(now).toBe(expiry);
  expect(m.onCredentialExpired(now)).toMatchObject({ to: 'needs_reauth', reason: 'credential_expired' });
});

test('vendor failures degrade with capped exponential backoff, then recover by themselves', () => {
  const { m } = linked();
  let now = HOUR;
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    const step = m.nextStep(now);
    const t = m.onVendorStep(step, { kind: 'unavailable', message: '503' }, now);
    m.finish();
    expect(t.to).toBe('degraded');
    delays.push(t.patch.nextCheckAt! - now);
    now = t.patch.nextCheckAt!;
  }
  // base 1 s doubling, capped at 8 s; jitter keeps each in the upper half (random fixed at 0.5 → 75 %).
  expect(delays).toEqual([750, 1_500, 3_000, 6_000, 6_000, 6_000]);
  const t = m.onVendorStep(
    m.nextStep(now),
    { kind: 'ok', token: token(now, HOUR), verification: verified },
    now,
  );
  expect(t).toMatchObject({ to: 'active', event: 'recovered' });
  expect(t.patch.consecutiveFailures).toBe(0);
});

test('Retry-After longer than the backoff wins', () => {
  const { m } = linked();
  const t = m.onVendorStep(
    m.nextStep(HOUR),
    { kind: 'unavailable', message: '429', retryAfterMs: 120_000 },
    HOUR,
  );
  expect(t.patch.nextCheckAt).toBe(HOUR + 120_000);
});

test('credential rejections: degraded first, needs_reauth at the limit; at link, invalid at once', () => {
  const { m } = linked();
  let now = HOUR;
  const statuses = [];
  for (let i = 0; i < policy.rejectionLimit; i++) {
    const t = m.onVendorStep(
      m.nextStep(now),
      { kind: 'rejected', reason: 'credentials_rejected', message: '401' },
      now,
    );
    m.finish();
    statuses.push(t.to);
    now = t.patch.nextCheckAt ?? now;
  }
  expect(statuses).toEqual([...Array(policy.rejectionLimit - 1).fill('degraded'), 'needs_reauth']);
  expect(m.nextStep(now + 100 * HOUR)).toEqual({ kind: 'wait', untilMs: null });

  const fresh = new ConnectionMachine(policy, () => 0.5);
  const t = fresh.onVendorStep(
    fresh.nextStep(0),
    { kind: 'rejected', reason: 'credentials_rejected', message: 'x' },
    0,
  );
  expect(t.to).toBe('invalid_credentials');
});

test('refresh requests coalesce while one is queued or running; commands run in arrival order', () => {
  const { m } = linked();
  expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(false);
  expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(true);
  m.enqueue({ kind: 'rotate', rotationId: 'r1' });
  const first = m.nextStep(10);
  expect(first).toEqual({ kind: 'refresh' });
  expect(m.enqueue({ kind: 'refresh' }).coalesced).toBe(true); // joins the running one
  m.onVendorStep(first, { kind: 'ok', token: token(10, HOUR), verification: verified }, 10);
  m.finish();
  expect(m.nextStep(20)).toMatchObject({ kind: 'rotate', rotationId: 'r1' });
});

test('pause refuses refresh, resume re-establishes and reports one transition from paused', () => {
  const { m } = linked();
  m.enqueue({ kind: 'pause' });
  expect(m.refuse('refresh')).toMatch(/paused/);
  expect(m.nextStep(5)).toMatchObject({ kind: 'pause' });
  expect(m.onPause(5)).toMatchObject({ from: 'active', to: 'paused' });
  m.finish();
  expect(m.nextStep(100 * HOUR)).toEqual({ kind: 'wait', untilMs: null });
  expect(m.onResume()).toBe(true);
  const t = m.onVendorStep(
    { kind: 'establish' },
    { kind: 'ok', token: token(10, HOUR), verification: verified },
    10,
  );
  expect(t).toMatchObject({ from: 'paused', to: 'active', event: 'resumed', detail: { resumed: true } });
});

test('insufficient scopes stop the timers until a human acts; a later refresh re-establishes', () => {
  const m = new ConnectionMachine(policy, () => 0.5);
  const missing = { granted: [], missing: [{ scope: 'a', purpose: 'p' }], probes: [] };
  const t = m.onVendorStep(m.nextStep(0), { kind: 'insufficient_scopes', verification: missing }, 0);
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
  const step = m.nextStep(1);
  expect(step.kind).toBe('revoke');
  expect(m.onRevokeStarted(1).to).toBe('revoking');
  expect(m.onRevoked('unsupported', 2)).toMatchObject({
    to: 'revoked',
    detail: { vendorRevocation: 'unsupported' },
  });
  m.finish();
  expect(m.nextStep(3)).toEqual({ kind: 'done' });
});

test('a snapshot carries the state across continueAsNew', () => {
  const { m } = linked();
  const copy = new ConnectionMachine(policy, () => 0.5, m.snapshot());
  expect(copy.snapshot()).toEqual(m.snapshot());
  expect(copy.nextStep(1)).toEqual(m.nextStep(1));
});

describe('linked by an OAuth install', () => {
  const installStep = (installId = 'i1') => ({ kind: 'install' as const, ticket: 1, result: { installId } });
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
    const t = m.onInstall(install, { kind: 'ok', token: token(0, HOUR), verification: verified }, 0);
    m.finish();
    expect(t).toMatchObject({ event: 'linked', from: 'linking', to: 'active' });
    expect(m.snapshot().awaitingInstall).toBe(false);
    expect(m.refuse('refresh')).toBeNull();
    expect(m.nextStep(HOUR)).toEqual({ kind: 'refresh' });
  });

  test('a denied install keeps waiting, saying why; on a working connection it is only recorded', () => {
    const m = waiting();
    expect(m.onInstallDenied('access_denied', 1)).toMatchObject({
      to: 'linking',
      event: 'install_denied',
      reason: 'install_denied',
      message: expect.stringContaining('access_denied'),
    });
    expect(m.nextStep(HOUR)).toEqual({ kind: 'wait', untilMs: null });
    expect(m.refuse('install')).toBeNull();

    const { m: active } = linked();
    const due = active.snapshot().nextCheckAt;
    expect(active.onInstallDenied('access_denied', 1)).toMatchObject({
      to: 'active',
      reason: undefined,
      detail: { error: 'access_denied' },
    });
    expect(active.snapshot().nextCheckAt).toBe(due);
  });

  test('a failed install: a refused client is invalid_credentials, an outage keeps waiting, a superseded one is nothing', () => {
    const refused = waiting();
    const t = refused.onInstall(
      installStep(),
      { kind: 'rejected', reason: 'credentials_rejected', message: 'bad_client_secret' },
      1,
    );
    expect(t).toMatchObject({
      to: 'invalid_credentials',
      event: 'install_failed',
      message: 'bad_client_secret',
    });
    expect(refused.refuse('install')).toBeNull();

    const down = waiting();
    expect(down.onInstall(installStep(), { kind: 'unavailable', message: '503' }, 1)).toMatchObject({
      to: 'linking',
      reason: 'vendor_unavailable',
    });
    expect(down.nextStep(HOUR)).toEqual({ kind: 'wait', untilMs: null });
    expect(down.refuse('refresh')).toMatch(/OAuth install/);

    const superseded = waiting();
    const outcome = {
      kind: 'rejected' as const,
      reason: 'credentials_rejected' as const,
      message: 'newer',
      superseded: true,
    };
    expect(superseded.onInstall(installStep(), outcome, 1)).toBeNull();
    expect(superseded.snapshot().eventSeq).toBe(0);
  });

  test('a failed re-install leaves a working connection as it was', () => {
    const { m } = linked();
    const before = m.snapshot();
    const t = m.onInstall(
      installStep(),
      { kind: 'rejected', reason: 'credentials_rejected', message: 'invalid_code' },
      5,
    );
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
      m.nextStep(HOUR),
      { kind: 'rejected', reason: 'credentials_rejected', message: 'invalid_refresh_token', final: true },
      HOUR,
    );
    expect(t.to).toBe('needs_reauth');
    expect(m.refuse('install')).toBeNull();
  });
});
