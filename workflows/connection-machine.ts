// The connection's state machine, free of Temporal and of I/O so unit tests drive it directly.
// The workflow asks it what to do next (`nextStep`), performs that step with activities, and feeds
// the outcome back (`on*`), which returns the transition to persist. Commands from the API queue
// here and run one at a time, so two refreshes never race and a rotation is never lost.
import type { Transition } from '../domain/transition';
import type {
  ConnectionStatus,
  ConnectionView,
  InstallResult,
  MachineSnapshot,
  RotationOutcome,
  ScopeVerification,
  TokenInfo,
} from '../domain/connection';
import type { MaintenancePolicy } from '../domain/policy';

export type Command =
  | { kind: 'refresh'; ticket: number }
  | { kind: 'rotate'; ticket: number; rotationId: string }
  | { kind: 'pause'; ticket: number }
  | { kind: 'resume'; ticket: number }
  | { kind: 'revoke'; ticket: number }
  | { kind: 'install'; ticket: number; result: InstallResult };

export type Step =
  /** Obtain a token and verify every required scope with probes: link, retry after a human acted. */
  | { kind: 'establish' }
  /** Obtain a fresh token and compare granted with required scopes. */
  | { kind: 'refresh' }
  /** Cheap check of a token that never expires. */
  | { kind: 'probe' }
  | { kind: 'rotate'; ticket: number; rotationId: string }
  | { kind: 'pause'; ticket: number }
  | { kind: 'resume'; ticket: number }
  | { kind: 'revoke'; ticket: number }
  /** Redeem an OAuth install's code and verify like a link, or record that the install was denied. */
  | { kind: 'install'; ticket: number; result: InstallResult }
  | { kind: 'warn_expiry' }
  | { kind: 'credential_expired' }
  | { kind: 'wait'; untilMs: number | null }
  | { kind: 'done' };

/** Failure of a vendor step as the workflow classified it. */
export type StepFailure =
  | {
      kind: 'rejected';
      reason: 'credentials_rejected' | 'invalid_configuration';
      message: string;
      superseded?: boolean;
      /** Retrying cannot help (a refused refresh token): a human must act now, not after the rejection limit. */
      final?: boolean;
    }
  | { kind: 'unavailable'; message: string; retryAfterMs?: number };

export type StepOutcome =
  | { kind: 'ok'; token?: TokenInfo; verification?: ScopeVerification }
  | { kind: 'insufficient_scopes'; token?: TokenInfo; verification: ScopeVerification }
  | StepFailure;

const USABLE: ConnectionStatus[] = ['active', 'expiring', 'degraded'];
/** States where only a human can help: no timers run, commands still do. */
const WAITING_FOR_HUMAN: ConnectionStatus[] = ['insufficient_scopes', 'invalid_credentials', 'needs_reauth'];

export class ConnectionMachine {
  private state: MachineSnapshot;
  private queue: Command[] = [];
  private nextTicket = 1;
  private rotationOutcomes = new Map<number, RotationOutcome>();
  private running: Step | null = null;

  constructor(
    private readonly policy: MaintenancePolicy,
    private readonly random: () => number,
    carried?: MachineSnapshot,
    options: { awaitInstall?: boolean } = {},
  ) {
    const awaitInstall = options.awaitInstall === true;
    this.state = carried ?? {
      status: 'linking',
      statusBeforePause: null,
      tokenObtainedAt: null,
      tokenExpiresAt: null,
      credentialExpiresAt: null,
      lastCheckAt: null,
      // Due at once: a new connection starts by linking, unless it must be installed first.
      nextCheckAt: awaitInstall ? null : 0,
      failures: 0,
      rejections: 0,
      eventSeq: 0,
      expiryWarned: false,
      awaitingInstall: awaitInstall,
    };
  }

  get status(): ConnectionStatus {
    return this.state.status;
  }

  snapshot(): MachineSnapshot {
    return { ...this.state };
  }

  view(connectionId: string, vendor: string): ConnectionView {
    return {
      ...this.state,
      connectionId,
      vendor,
      pendingCommands: this.queue.map((c) => c.kind),
      busyWith: this.running?.kind ?? null,
    };
  }

  hasQueuedCommands(): boolean {
    return this.queue.length > 0;
  }

  isIdle(): boolean {
    return this.queue.length === 0 && this.running === null;
  }

  // ---- commands (called from update handlers) -------------------------------------------------

  /** Why a command cannot be accepted now, or null. Used by the update validators. */
  refuse(kind: Command['kind']): string | null {
    const s = this.state.status;
    if (s === 'revoked') return 'connection is revoked';
    if (s === 'revoking' || this.queue.some((c) => c.kind === 'revoke')) {
      return kind === 'revoke' ? null : 'connection is being revoked';
    }
    // Before its first install there is no token to refresh, pause or rotate.
    if (this.state.awaitingInstall && kind !== 'install' && kind !== 'revoke') {
      return 'connection waits for its OAuth install';
    }
    const paused = s === 'paused' || this.lastQueued('pause', 'resume') === 'pause';
    if ((kind === 'refresh' || kind === 'install') && paused) return 'connection is paused: resume it first';
    return null;
  }

  /** Queue a command; returns its ticket and whether it joined an equal one already queued/running. */
  enqueue(
    command:
      | { kind: 'refresh' }
      | { kind: 'rotate'; rotationId: string }
      | { kind: 'install'; result: InstallResult }
      | { kind: Command['kind'] },
  ): { ticket: number; coalesced: boolean } {
    if (command.kind === 'refresh') {
      const queued = this.queue.find((c) => c.kind === 'refresh');
      if (queued) return { ticket: queued.ticket, coalesced: true };
      if (this.running?.kind === 'refresh' || this.running?.kind === 'establish') {
        return { ticket: 0, coalesced: true };
      }
    }
    if (
      command.kind === 'revoke' &&
      (this.status === 'revoking' || this.queue.some((c) => c.kind === 'revoke'))
    ) {
      return { ticket: 0, coalesced: true };
    }
    const ticket = this.nextTicket++;
    this.queue.push({ ...command, ticket } as Command);
    return { ticket, coalesced: false };
  }

  /** Publish a rotation's outcome to its waiting update, once its transition is persisted. */
  settleRotation(ticket: number, outcome: RotationOutcome): void {
    this.rotationOutcomes.set(ticket, outcome);
  }

  /** A rotation's outcome once settled; taking it forgets it. */
  takeRotationOutcome(ticket: number): RotationOutcome | undefined {
    const outcome = this.rotationOutcomes.get(ticket);
    this.rotationOutcomes.delete(ticket);
    return outcome;
  }

  /** A token request is queued or running: what ensureFreshToken waits out. */
  refreshInFlight(): boolean {
    return (
      this.queue.some((c) => c.kind === 'refresh' || c.kind === 'resume') ||
      this.running?.kind === 'refresh' ||
      this.running?.kind === 'establish'
    );
  }

  // ---- scheduling ------------------------------------------------------------------------------

  /** What the workflow should do now. Commands first, in arrival order; then timers. */
  nextStep(now: number): Step {
    if (this.state.status === 'revoked') return { kind: 'done' };
    const command = this.queue.shift();
    if (command) return this.begin(this.stepForCommand(command));

    const due = this.state.nextCheckAt;
    if (due === null || now < due) return { kind: 'wait', untilMs: due };
    return this.begin(this.stepForTimer(now));
  }

  private begin(step: Step): Step {
    this.running = step;
    return step;
  }

  /** The step finished (its transition, if any, already applied). */
  finish(): void {
    this.running = null;
  }

  private stepForCommand(command: Command): Step {
    switch (command.kind) {
      case 'refresh':
        return WAITING_FOR_HUMAN.includes(this.status) || this.status === 'linking'
          ? { kind: 'establish' }
          : { kind: 'refresh' };
      case 'rotate':
        return { kind: 'rotate', ticket: command.ticket, rotationId: command.rotationId };
      case 'install':
        return { kind: 'install', ticket: command.ticket, result: command.result };
      default:
        return { kind: command.kind, ticket: command.ticket };
    }
  }

  private stepForTimer(now: number): Step {
    const s = this.state;
    if (s.status === 'linking') return { kind: 'establish' };
    if (s.credentialExpiresAt !== null && now >= s.credentialExpiresAt) return { kind: 'credential_expired' };
    if (s.credentialExpiresAt !== null && !s.expiryWarned && now >= this.warnAt()) {
      return { kind: 'warn_expiry' };
    }
    return s.tokenExpiresAt === null ? { kind: 'probe' } : { kind: 'refresh' };
  }

  private warnAt(): number {
    return (this.state.credentialExpiresAt ?? Infinity) - this.policy.expiryWarningMs;
  }

  /** Next time a timer must fire for a healthy connection. */
  private nextHealthyCheck(now: number): number {
    const s = this.state;
    let next: number;
    if (s.tokenExpiresAt !== null) {
      const lifetime = Math.max(0, s.tokenExpiresAt - (s.tokenObtainedAt ?? now));
      const lead = Math.min(lifetime * this.policy.refreshLeadFraction, this.policy.maxRefreshLeadMs);
      // Jitter spreads a fleet's refreshes so tokens issued together are not refreshed together.
      next = s.tokenExpiresAt - lead - this.random() * lead * 0.5;
    } else {
      next = now + this.policy.healthCheckIntervalMs * (0.9 + this.random() * 0.2);
    }
    if (s.credentialExpiresAt !== null) {
      next = Math.min(next, s.expiryWarned ? s.credentialExpiresAt : this.warnAt());
    }
    return Math.max(next, now);
  }

  /** Exponential backoff with full jitter over the upper half, capped; Retry-After wins if longer. */
  private backoff(failures: number, retryAfterMs = 0): number {
    const exp = this.policy.failureBackoffBaseMs * 2 ** Math.min(failures - 1, 30);
    const capped = Math.min(exp, this.policy.failureBackoffCapMs);
    return Math.max(capped / 2 + this.random() * (capped / 2), retryAfterMs);
  }

  // ---- outcomes --------------------------------------------------------------------------------

  /** Outcome of establish / refresh / probe. */
  onVendorStep(step: Step, outcome: StepOutcome, now: number): Transition {
    const s = this.state;
    const phase =
      (step.kind === 'establish' || step.kind === 'install') && s.status === 'linking' ? 'link' : step.kind;

    if (outcome.kind === 'ok') {
      if (outcome.token) this.adoptToken(outcome.token);
      const recovering =
        s.failures > 0 || s.rejections > 0 || s.status === 'degraded' || WAITING_FOR_HUMAN.includes(s.status);
      s.failures = 0;
      s.rejections = 0;
      s.lastCheckAt = now;
      const to = this.healthyStatus(now);
      s.nextCheckAt = this.nextHealthyCheck(now);
      const event =
        phase === 'link'
          ? 'linked'
          : recovering && s.status !== 'linking'
            ? 'recovered'
            : `${phase}_succeeded`;
      return this.transition(to, event, null, null, now, {
        ...this.tokenPatch(),
        ...(outcome.verification ? { grantedScopes: outcome.verification.granted, missingScopes: [] } : {}),
        lastCheckAt: now,
        lastSuccessAt: now,
      });
    }

    if (outcome.kind === 'insufficient_scopes') {
      if (outcome.token) this.adoptToken(outcome.token);
      s.failures = 0;
      s.rejections = 0;
      s.lastCheckAt = now;
      s.nextCheckAt = null;
      const names = outcome.verification.missing.map((m) => m.scope).join(', ');
      return this.transition(
        'insufficient_scopes',
        'scopes_missing',
        'insufficient_scopes',
        `missing: ${names}`,
        now,
        {
          ...this.tokenPatch(),
          grantedScopes: outcome.verification.granted,
          missingScopes: outcome.verification.missing,
          lastCheckAt: now,
        },
      );
    }

    s.lastCheckAt = now;
    if (outcome.kind === 'rejected') {
      s.rejections += 1;
      // At link, or when a human already had to act, one rejection is enough: nothing ever worked.
      const final =
        outcome.final ||
        phase === 'link' ||
        WAITING_FOR_HUMAN.includes(s.status) ||
        s.rejections >= this.policy.rejectionLimit;
      if (final) {
        s.nextCheckAt = null;
        const to: ConnectionStatus =
          s.status === 'linking' || s.status === 'invalid_credentials'
            ? 'invalid_credentials'
            : 'needs_reauth';
        return this.transition(to, outcome.reason, outcome.reason, outcome.message, now, {
          lastCheckAt: now,
        });
      }
      s.nextCheckAt = now + this.backoff(s.rejections);
      return this.transition('degraded', outcome.reason, outcome.reason, outcome.message, now, {
        lastCheckAt: now,
      });
    }

    // unavailable: the vendor (or the network) failed even after the activity's own retries.
    s.failures += 1;
    s.nextCheckAt = now + this.backoff(s.failures, outcome.retryAfterMs);
    const to: ConnectionStatus =
      s.status === 'linking' || WAITING_FOR_HUMAN.includes(s.status) ? s.status : 'degraded';
    return this.transition(to, 'vendor_unavailable', 'vendor_unavailable', outcome.message, now, {
      lastCheckAt: now,
    });
  }

  /** Outcome of a rotation whose candidate was verified (accepted) or not. */
  onRotation(
    step: Extract<Step, { kind: 'rotate' }>,
    result: RotationOutcome,
    token: TokenInfo | null,
    now: number,
  ): Transition | null {
    if (result.outcome === 'rejected') {
      // Everything stays as it was; the audit trail still records the attempt.
      return this.transition(
        this.status,
        'rotation_rejected',
        undefined,
        undefined,
        now,
        {},
        {
          rejection: result.reason,
          missingScopes: result.missingScopes,
        },
      );
    }
    const s = this.state;
    if (token) this.adoptToken(token);
    s.failures = 0;
    s.rejections = 0;
    s.lastCheckAt = now;
    s.expiryWarned = false;
    if (s.status === 'paused') {
      s.statusBeforePause = 'active';
      return this.transition('paused', 'credentials_rotated', 'paused', null, now, {
        ...this.tokenPatch(),
        grantedScopes: result.grantedScopes,
        missingScopes: [],
        lastCheckAt: now,
        lastSuccessAt: now,
      });
    }
    s.nextCheckAt = this.nextHealthyCheck(now);
    return this.transition(this.healthyStatus(now), 'credentials_rotated', null, null, now, {
      ...this.tokenPatch(),
      grantedScopes: result.grantedScopes,
      missingScopes: [],
      lastCheckAt: now,
      lastSuccessAt: now,
    });
  }

  /**
   * Outcome of redeeming an install's code. A failed install stored no token: a connection that works keeps
   * working (the attempt is on record), a refused client at link is invalid_credentials, and otherwise the
   * connection stays as it was, saying why, until the customer installs again.
   */
  onInstall(step: Extract<Step, { kind: 'install' }>, outcome: StepOutcome, now: number): Transition | null {
    const s = this.state;
    if (outcome.kind === 'ok' || outcome.kind === 'insufficient_scopes') {
      s.awaitingInstall = false;
      return this.onVendorStep(step, outcome, now);
    }
    // A newer install, queued behind this one, holds the code now: this one did nothing.
    if (outcome.kind === 'rejected' && outcome.superseded) return null;
    const reason = outcome.kind === 'rejected' ? outcome.reason : 'vendor_unavailable';
    if (isUsable(s.status)) {
      return this.transition(
        s.status,
        'install_failed',
        undefined,
        undefined,
        now,
        {},
        { reason, message: outcome.message },
      );
    }
    const to = s.status === 'linking' && outcome.kind === 'rejected' ? 'invalid_credentials' : s.status;
    if (to !== 'linking') s.awaitingInstall = false;
    s.lastCheckAt = now;
    return this.transition(to, 'install_failed', reason, outcome.message, now, { lastCheckAt: now });
  }

  /** The customer (or the vendor) refused the install at the consent page: nothing changes but the record. */
  onInstallDenied(error: string, now: number): Transition {
    const s = this.state;
    if (isUsable(s.status))
      return this.transition(s.status, 'install_denied', undefined, undefined, now, {}, { error });
    const message = `the install was not approved at the vendor (${error}): start it again`;
    return this.transition(s.status, 'install_denied', 'install_denied', message, now, {}, { error });
  }

  onPause(now: number): Transition | null {
    const s = this.state;
    if (s.status === 'paused') return null;
    s.statusBeforePause = s.status;
    s.nextCheckAt = null;
    return this.transition('paused', 'paused', 'paused', null, now, {});
  }

  /**
   * Resume re-establishes at once (the token may have expired and permissions changed while paused).
   * The status held before the pause comes back now, but only the establish step's outcome is
   * recorded, as one transition from `paused`: nobody sees `active` before it is verified.
   */
  onResume(): boolean {
    const s = this.state;
    if (s.status !== 'paused') return false;
    s.status = s.statusBeforePause ?? 'active';
    s.statusBeforePause = null;
    this.resuming = true;
    return true;
  }

  onWarnExpiry(now: number): Transition {
    this.state.expiryWarned = true;
    this.state.nextCheckAt = this.nextHealthyCheck(now);
    return this.transition('expiring', 'credential_expiring', 'credential_expiring', null, now, {
      credentialExpiresAt: this.state.credentialExpiresAt,
    });
  }

  onCredentialExpired(now: number): Transition {
    this.state.nextCheckAt = null;
    return this.transition('needs_reauth', 'credential_expired', 'credential_expired', null, now, {});
  }

  onRevokeStarted(now: number): Transition {
    this.state.nextCheckAt = null;
    return this.transition('revoking', 'revoke_requested', 'revoke_requested', null, now, {});
  }

  onRevoked(vendorRevocation: string, now: number): Transition {
    this.state.tokenExpiresAt = null;
    this.state.tokenObtainedAt = null;
    return this.transition(
      'revoked',
      'revoked',
      null,
      null,
      now,
      { tokenExpiresAt: null, tokenObtainedAt: null },
      {
        vendorRevocation,
      },
    );
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** Set between onResume and the establish step's transition, which it then reports. */
  private resuming = false;

  private healthyStatus(now: number): ConnectionStatus {
    const s = this.state;
    if (s.credentialExpiresAt !== null && now >= this.warnAt()) {
      s.expiryWarned = true;
      return 'expiring';
    }
    return 'active';
  }

  private adoptToken(token: TokenInfo): void {
    this.state.tokenObtainedAt = token.obtainedAt;
    this.state.tokenExpiresAt = token.expiresAt;
    this.state.credentialExpiresAt = token.credentialExpiresAt;
  }

  private tokenPatch() {
    return {
      tokenObtainedAt: this.state.tokenObtainedAt,
      tokenExpiresAt: this.state.tokenExpiresAt,
      credentialExpiresAt: this.state.credentialExpiresAt,
    };
  }

  private lastQueued(...kinds: Command['kind'][]): Command['kind'] | null {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const kind = this.queue[i]!.kind;
      if (kinds.includes(kind)) return kind;
    }
    return null;
  }

  private transition(
    to: ConnectionStatus,
    event: string,
    reason: string | null | undefined,
    message: string | null | undefined,
    _now: number,
    patch: Partial<Transition['patch']>,
    detail: Record<string, unknown> = {},
  ): Transition {
    let from = this.state.status;
    if (this.resuming) {
      this.resuming = false;
      from = 'paused';
      detail = { ...detail, resumed: true };
      if (event === 'recovered' || event === 'establish_succeeded') event = 'resumed';
    }
    this.state.status = to;
    this.state.eventSeq += 1;
    return {
      seq: this.state.eventSeq,
      event,
      from,
      to,
      reason,
      message,
      patch: { ...patch, nextCheckAt: this.state.nextCheckAt, consecutiveFailures: this.state.failures },
      detail,
    };
  }
}

export function isUsable(status: ConnectionStatus): boolean {
  return USABLE.includes(status);
}
