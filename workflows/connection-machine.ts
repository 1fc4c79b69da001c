// The connection's state machine, free of Temporal and of I/O so unit tests drive it directly.
// The workflow asks it what to do next (`nextStep`), performs that step with activities, and feeds
// the outcome back (`on*`), which returns the transition to persist. Commands from the API queue
// here and run one at a time, so two refreshes never race and a rotation is never lost.
import type { ConnectionEvent, Transition } from '../domain/transition';
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
import { backoff, expiryWarningAt, nextHealthyCheck } from './schedule';
import { rotationOutcome, type StepOutcome } from './step-outcome';

export type Command =
  | { kind: 'refresh'; ticket: number }
  | { kind: 'rotate'; ticket: number; rotationId: string }
  | { kind: 'pause'; ticket: number }
  | { kind: 'resume'; ticket: number }
  | { kind: 'revoke'; ticket: number }
  | { kind: 'install'; ticket: number; result: InstallResult };

export type Step =
  /**
   * Obtain a token and verify every required scope with probes: link, retry after a human acted, or
   * resume (`after: 'resume'`: the token may have expired and permissions changed while paused), or link
   * again after a failed link (`after: 'relink'`: a link that failed or found the configuration wrong).
   */
  | { kind: 'establish'; after?: 'resume' }
  | { kind: 'establish'; after: 'relink'; from: 'link_failed' | 'invalid_configuration' }
  /** Obtain a fresh token and compare granted with required scopes. */
  | { kind: 'refresh' }
  /** Cheap check of a token that never expires. */
  | { kind: 'probe' }
  | { kind: 'rotate'; ticket: number; rotationId: string }
  | { kind: 'pause' }
  | { kind: 'revoke' }
  /** Redeem an OAuth install's code and verify like a link, or record that the install was denied. */
  | { kind: 'install'; result: InstallResult }
  | { kind: 'warn_expiry' }
  | { kind: 'credential_expired' }
  | { kind: 'wait'; untilMs: number | null }
  | { kind: 'done' };

/** Steps whose outcome is a vendor's answer about the live credentials. */
export type VendorStep = Extract<Step, { kind: 'establish' | 'refresh' | 'probe' | 'install' }>;

export interface MachineOptions {
  awaitInstall?: boolean;
  /**
   * How a refresh joined other work in histories recorded before the workflow's
   * REFRESH_JOINS_ONLY_UNSTARTED patch: with a running refresh or establish (even after its vendor call),
   * never with a queued resume. Asked only where the two rules differ; absent, today's rule applies.
   */
  joinsRunningRefresh?: () => boolean;
  /**
   * Histories recorded before CONFIGURATION_FAULTS_BY_PHASE read a configuration fault as a refusal of the
   * credentials (toward needs_reauth; invalid_credentials at link). Asked at each configuration fault.
   */
  configurationFaultsRefuse?: () => boolean;
  /** Before LINK_DEADLINE a failing link kept trying, unannounced, forever. Asked when a threshold passes. */
  linksWaitForever?: () => boolean;
  /** Before SCOPES_RECHECKED insufficient_scopes ran no timer. Asked at each missing-scope outcome. */
  scopesWaitForHuman?: () => boolean;
}

type Change = {
  to: ConnectionStatus;
  event: ConnectionEvent;
  /** Default: the current status. */
  from?: ConnectionStatus;
  /** Omitted: the stored reason and message stay. */
  reason?: string | null;
  message?: string | null;
  patch?: Partial<Transition['patch']>;
  detail?: Record<string, unknown>;
};

const USABLE: ConnectionStatus[] = ['active', 'expiring', 'degraded'];
/**
 * States a human must act to leave: no timers run, commands still do. Insufficient scopes is one too, but
 * it is checked again with backoff, so permissions granted at the vendor are noticed without a command.
 */
const WAITING_FOR_HUMAN: ConnectionStatus[] = [
  'insufficient_scopes',
  'invalid_credentials',
  'invalid_configuration',
  'link_failed',
  'needs_reauth',
];
/** The token held is not one to use: the stored row shows none (the machine keeps its own for its timers). */
const TOKEN_DEAD: ConnectionStatus[] = [
  'invalid_credentials',
  'invalid_configuration',
  'link_failed',
  'needs_reauth',
];
/** Statuses of a connection that never linked: its instance URL and settings are not proven. */
const NEVER_LINKED: ConnectionStatus[] = [
  'linking',
  'invalid_credentials',
  'invalid_configuration',
  'link_failed',
];
/** A status that needs no explanation: the stored reason and message are cleared. */
const CLEARED = { reason: null, message: null };
/** A status whose reason is the event that led to it. */
const because = (event: ConnectionEvent) => ({ event, reason: event, message: null });

export class ConnectionMachine {
  private state: MachineSnapshot;
  private queue: Command[] = [];
  private nextTicket = 1;
  private rotationOutcomes = new Map<number, RotationOutcome>();
  private running: Step | null = null;
  private steps = 0;
  private readonly joinsRunningRefresh: () => boolean;
  private readonly configurationFaultsRefuse: () => boolean;
  private readonly linksWaitForever: () => boolean;
  private readonly scopesWaitForHuman: () => boolean;

  constructor(
    private readonly policy: MaintenancePolicy,
    private readonly random: () => number,
    carried?: MachineSnapshot,
    options: MachineOptions = {},
  ) {
    const awaitInstall = options.awaitInstall === true;
    this.joinsRunningRefresh = options.joinsRunningRefresh ?? (() => false);
    this.configurationFaultsRefuse = options.configurationFaultsRefuse ?? (() => false);
    this.linksWaitForever = options.linksWaitForever ?? (() => false);
    this.scopesWaitForHuman = options.scopesWaitForHuman ?? (() => false);
    this.state = carried
      ? carriedOver(carried)
      : {
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
          configurationProven: false,
          failingSince: null,
          misconfiguredSince: null,
          linkDelayAnnounced: false,
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

  /**
   * This run took its share of steps (maxStepsPerRun) and should continue as new. Every command taken
   * counts, a resume with nothing to do too: it was a step of its own when older histories were recorded.
   */
  runIsFull(): boolean {
    return this.steps >= this.policy.maxStepsPerRun;
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
    const paused = s === 'paused' || this.lastQueued(this.queue.length, 'pause', 'resume') === 'pause';
    if ((kind === 'refresh' || kind === 'install') && paused) return 'connection is paused: resume it first';
    return null;
  }

  /**
   * Queue a command; returns its ticket and whether it joined an equal one. A refresh joins only work whose
   * token request has not started (a queued refresh, or a queued resume that will re-establish), so every
   * accepted refresh is followed by a token request sent after it. A running step has already called the
   * vendor (the workflow calls it as soon as the step begins): a refresh arriving then queues one more.
   */
  enqueue(
    command:
      | { kind: 'refresh' }
      | { kind: 'rotate'; rotationId: string }
      | { kind: 'install'; result: InstallResult }
      | { kind: Command['kind'] },
  ): { ticket: number; coalesced: boolean } {
    if (command.kind === 'refresh') {
      const joined = this.joinableByRefresh();
      if (joined) return { ticket: joined.ticket, coalesced: true };
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

  /** What a new refresh joins, if anything (see enqueue). */
  private joinableByRefresh(): { ticket: number } | undefined {
    const refresh = this.queue.find((c) => c.kind === 'refresh');
    if (refresh) return refresh;
    const reestablishing = this.queue.find(
      (c, i) => c.kind === 'resume' && this.lastQueued(i, 'pause', 'resume') === 'pause',
    );
    // The old rule, for histories recorded under it: join a running refresh or establish (a resume was a
    // step of its own then, not joined), never a queued resume.
    const running = this.running;
    const joinedBefore =
      running?.kind === 'refresh' || (running?.kind === 'establish' && running.after === undefined);
    if ((reestablishing || joinedBefore) && this.joinsRunningRefresh()) {
      return joinedBefore ? { ticket: 0 } : undefined;
    }
    return reestablishing;
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
    if (command) {
      this.steps += 1;
      const step = this.stepForCommand(command);
      // A resume of a connection that is not paused has nothing to do.
      return step ? this.begin(step) : this.nextStep(now);
    }

    const due = this.state.nextCheckAt;
    if (due === null || now < due) return { kind: 'wait', untilMs: due };
    this.steps += 1;
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

  private stepForCommand(command: Command): Step | null {
    switch (command.kind) {
      case 'refresh': {
        const s = this.state;
        if (s.status === 'link_failed' || (s.status === 'invalid_configuration' && !s.configurationProven)) {
          // A link that never worked starts again from the beginning, reported as leaving the failed status.
          const from = s.status;
          s.status = 'linking';
          s.failures = 0;
          s.rejections = 0;
          s.failingSince = null;
          s.linkDelayAnnounced = false;
          return { kind: 'establish', after: 'relink', from };
        }
        return WAITING_FOR_HUMAN.includes(s.status) || s.status === 'linking'
          ? { kind: 'establish' }
          : { kind: 'refresh' };
      }
      case 'resume': {
        const s = this.state;
        if (s.status !== 'paused') return null;
        // The status held before the pause comes back for the establish to work from, but only its
        // outcome is recorded, as one transition from `paused`: nobody sees `active` before it is verified.
        s.status = s.statusBeforePause ?? 'active';
        s.statusBeforePause = null;
        return { kind: 'establish', after: 'resume' };
      }
      case 'rotate':
        return { kind: 'rotate', ticket: command.ticket, rotationId: command.rotationId };
      case 'install':
        return { kind: 'install', result: command.result };
      case 'pause':
      case 'revoke':
        return { kind: command.kind };
    }
  }

  private stepForTimer(now: number): Step {
    const s = this.state;
    // A missing scope is checked again with a new token and every probe: a grant shows only in those.
    if (s.status === 'linking' || s.status === 'insufficient_scopes') return { kind: 'establish' };
    if (s.credentialExpiresAt !== null && now >= s.credentialExpiresAt) return { kind: 'credential_expired' };
    const warnAt = expiryWarningAt(s, this.policy);
    if (s.credentialExpiresAt !== null && !s.expiryWarned && now >= warnAt) return { kind: 'warn_expiry' };
    return s.tokenExpiresAt === null ? { kind: 'probe' } : { kind: 'refresh' };
  }

  // ---- outcomes --------------------------------------------------------------------------------

  /** Outcome of establish / refresh / probe / install. */
  onVendorStep(step: VendorStep, recorded: StepOutcome, now: number): Transition {
    const s = this.state;
    const outcome = this.asOfItsHistory(recorded);
    // An install on a connection that never linked (a refused install before it) links it.
    const linking = s.status === 'linking' || (step.kind === 'install' && !s.configurationProven);
    const phase = (step.kind === 'establish' || step.kind === 'install') && linking ? 'link' : step.kind;
    // Whatever the re-establish after a resume (or a relink) finds is reported as leaving the status it left.
    const resumed = step.kind === 'establish' && step.after === 'resume';
    const origin = resumed
      ? { from: 'paused' as const, detail: { resumed: true } }
      : step.kind === 'establish' && step.after === 'relink'
        ? { from: step.from }
        : {};

    if (outcome.kind === 'ok') {
      const recovering =
        s.failures > 0 || s.rejections > 0 || s.status === 'degraded' || WAITING_FOR_HUMAN.includes(s.status);
      this.succeeded(outcome.token, now);
      const to = this.healthyStatus(now);
      s.nextCheckAt = nextHealthyCheck(s, this.policy, this.random, now);
      // An establish outside link and resume runs only from a state a human had to leave: a recovery.
      const event: ConnectionEvent =
        phase === 'link'
          ? 'linked'
          : resumed
            ? 'resumed'
            : recovering || step.kind === 'establish'
              ? 'recovered'
              : `${step.kind}_succeeded`;
      return this.transition({
        ...origin,
        to,
        event,
        ...CLEARED,
        patch: {
          ...this.tokenPatch(),
          ...(outcome.verification ? scopesPatch(outcome.verification) : {}),
          lastCheckAt: now,
          lastSuccessAt: now,
        },
      });
    }

    if (outcome.kind === 'insufficient_scopes') {
      const checks = s.failures + 1;
      const since = s.failingSince ?? now;
      this.succeeded(outcome.token, now);
      s.nextCheckAt = null;
      // Checked again with backoff: permissions granted at the vendor later are noticed without a command.
      if (!this.scopesWaitForHuman()) {
        s.failures = checks;
        s.failingSince = since;
        s.nextCheckAt = now + backoff(this.policy, this.random, checks);
      }
      const names = outcome.verification.missing.map((m) => m.scope).join(', ');
      return this.transition({
        ...origin,
        to: 'insufficient_scopes',
        event: 'scopes_missing',
        reason: 'insufficient_scopes',
        message: `missing: ${names}`,
        patch: { ...this.tokenPatch(), ...scopesPatch(outcome.verification), lastCheckAt: now },
      });
    }

    s.lastCheckAt = now;
    s.failingSince ??= now;
    const said = { message: outcome.message, patch: { lastCheckAt: now } };
    if (outcome.kind === 'rejected') {
      const failed = { ...origin, reason: outcome.reason, ...said };
      s.rejections += 1;
      // At link, or when a human already had to act, one rejection is enough: nothing ever worked.
      const final =
        outcome.final ||
        phase === 'link' ||
        WAITING_FOR_HUMAN.includes(s.status) ||
        s.rejections >= this.policy.rejectionLimit;
      if (final) {
        s.nextCheckAt = null;
        const to = NEVER_LINKED.includes(s.status) ? 'invalid_credentials' : 'needs_reauth';
        return this.transition({ ...failed, to, event: outcome.reason });
      }
      s.nextCheckAt = now + backoff(this.policy, this.random, s.rejections);
      return this.transition({ ...failed, to: 'degraded', event: outcome.reason });
    }

    if (outcome.kind === 'misconfigured') return this.misconfigured(outcome.message, origin, now);

    // unavailable: the vendor (or the network) failed even after the activity's own retries.
    const failed = { ...origin, reason: 'vendor_unavailable', ...said };
    s.failures += 1;
    s.nextCheckAt = now + backoff(this.policy, this.random, s.failures, outcome.retryAfterMs);
    if (s.status === 'linking' && !s.awaitingInstall) {
      const failingFor = now - s.failingSince;
      if (failingFor >= this.policy.linkDeadlineMs && !this.linksWaitForever()) {
        s.nextCheckAt = null;
        return this.transition({
          ...failed,
          to: 'link_failed',
          event: 'link_failed',
          message: `the link kept failing for ${duration(failingFor)} and stopped trying: ${outcome.message}; refresh the connection to try again`,
        });
      }
      if (failingFor >= this.policy.linkDelayedAfterMs && !s.linkDelayAnnounced && !this.linksWaitForever()) {
        s.linkDelayAnnounced = true;
        return this.transition({ ...failed, to: 'linking', event: 'link_delayed' });
      }
    }
    const to = s.status === 'linking' || WAITING_FOR_HUMAN.includes(s.status) ? s.status : 'degraded';
    return this.transition({ ...failed, to, event: 'vendor_unavailable' });
  }

  /**
   * The vendor answered as if the instance URL or settings were wrong. A connection that never linked has
   * its configuration to fix; one that worked is more likely hit by a DNS blip or a vendor's bad deploy, so
   * it is an outage, until such faults have persisted for configurationFaultLimitMs.
   */
  private misconfigured(message: string, origin: Pick<Change, 'from' | 'detail'>, now: number): Transition {
    const s = this.state;
    const patch = { lastCheckAt: now };
    s.failures += 1;
    if (!s.configurationProven) {
      s.nextCheckAt = null;
      return this.transition({
        ...origin,
        to: 'invalid_configuration',
        ...because('invalid_configuration'),
        message,
        patch,
      });
    }
    s.misconfiguredSince ??= now;
    const persisted = now - s.misconfiguredSince;
    if (persisted >= this.policy.configurationFaultLimitMs) {
      s.nextCheckAt = null;
      return this.transition({
        ...origin,
        to: 'invalid_configuration',
        ...because('invalid_configuration'),
        message: `${message} (for ${duration(persisted)}: check that the instance URL and settings still point at your account, then refresh)`,
        patch,
      });
    }
    s.nextCheckAt = now + backoff(this.policy, this.random, s.failures);
    const to = WAITING_FOR_HUMAN.includes(s.status) ? s.status : 'degraded';
    return this.transition({ ...origin, to, ...because('configuration_fault'), message, patch });
  }

  /**
   * An outcome as the rules of the workflow's history read it: before CONFIGURATION_FAULTS_BY_PHASE a
   * configuration fault was a refusal of the credentials.
   */
  private asOfItsHistory(outcome: StepOutcome): StepOutcome {
    if (outcome.kind !== 'misconfigured' || !this.configurationFaultsRefuse()) return outcome;
    return { kind: 'rejected', reason: 'invalid_configuration', message: outcome.message };
  }

  /**
   * Outcome of a rotation: how its candidate verified and whether it was promoted to live. Returns the
   * transition to persist and the outcome to settle for the caller once it is persisted.
   */
  onRotation(
    recorded: StepOutcome,
    promoted: boolean,
    now: number,
  ): { transition: Transition; outcome: RotationOutcome } {
    const verified = this.asOfItsHistory(recorded);
    const outcome = rotationOutcome(verified, promoted);
    if (outcome.outcome === 'rejected') {
      // Everything stays as it was; the audit trail still records the attempt.
      const detail = { rejection: outcome.reason, missingScopes: outcome.missingScopes };
      return {
        outcome,
        transition: this.transition({ to: this.status, event: 'rotation_rejected', detail }),
      };
    }
    const s = this.state;
    this.succeeded(verified.kind === 'ok' ? verified.token : undefined, now);
    s.expiryWarned = false;
    const checked = verified.kind === 'ok' ? verified.verification : undefined;
    const granted = checked ? scopesPatch(checked) : { grantedScopes: outcome.grantedScopes, missingScopes: [] };
    const patch = { ...this.tokenPatch(), ...granted, lastCheckAt: now, lastSuccessAt: now };
    const rotated = { event: 'credentials_rotated' as const, patch };
    if (s.status === 'paused') {
      s.statusBeforePause = 'active';
      return {
        outcome,
        transition: this.transition({ to: 'paused', ...rotated, reason: 'paused', message: null }),
      };
    }
    s.nextCheckAt = nextHealthyCheck(s, this.policy, this.random, now);
    return { outcome, transition: this.transition({ to: this.healthyStatus(now), ...rotated, ...CLEARED }) };
  }

  /**
   * Outcome of redeeming an install's code. A failed install stored no token: a connection that works keeps
   * working (the attempt is on record), a refused client at link is invalid_credentials, and otherwise the
   * connection stays as it was, saying why, until the customer installs again.
   */
  onInstall(step: Extract<Step, { kind: 'install' }>, recorded: StepOutcome, now: number): Transition | null {
    const s = this.state;
    const outcome = this.asOfItsHistory(recorded);
    if (outcome.kind === 'ok' || outcome.kind === 'insufficient_scopes') {
      s.awaitingInstall = false;
      return this.onVendorStep(step, outcome, now);
    }
    // A newer install, queued behind this one, holds the code now: this one did nothing.
    if (outcome.kind === 'rejected' && outcome.superseded) return null;
    const reason =
      outcome.kind === 'rejected'
        ? outcome.reason
        : outcome.kind === 'misconfigured'
          ? 'invalid_configuration'
          : 'vendor_unavailable';
    if (USABLE.includes(s.status)) {
      const detail = { reason, message: outcome.message };
      return this.transition({ to: s.status, event: 'install_failed', detail });
    }
    // At link, a refused client is invalid_credentials; an install the vendor made where it cannot work (a
    // Slack workspace instead of its Grid organization) invalid_configuration. Both take a new install.
    const to =
      s.status !== 'linking' || outcome.kind === 'unavailable'
        ? s.status
        : outcome.kind === 'rejected'
          ? 'invalid_credentials'
          : 'invalid_configuration';
    if (to !== 'linking') s.awaitingInstall = false;
    s.lastCheckAt = now;
    return this.transition({
      to,
      event: 'install_failed',
      reason,
      message: outcome.message,
      patch: { lastCheckAt: now },
    });
  }

  /** The customer (or the vendor) refused the install at the consent page: nothing changes but the record. */
  onInstallDenied(error: string): Transition {
    const s = this.state;
    if (USABLE.includes(s.status))
      return this.transition({ to: s.status, event: 'install_denied', detail: { error } });
    return this.transition({
      to: s.status,
      event: 'install_denied',
      reason: 'install_denied',
      message: `the install was not approved at the vendor (${error}): start it again`,
      detail: { error },
    });
  }

  onPause(): Transition | null {
    const s = this.state;
    if (s.status === 'paused') return null;
    s.statusBeforePause = s.status;
    s.nextCheckAt = null;
    return this.transition({ to: 'paused', ...because('paused') });
  }

  onWarnExpiry(now: number): Transition {
    this.state.expiryWarned = true;
    this.state.nextCheckAt = nextHealthyCheck(this.state, this.policy, this.random, now);
    const patch = { credentialExpiresAt: this.state.credentialExpiresAt };
    return this.transition({ to: 'expiring', ...because('credential_expiring'), patch });
  }

  onCredentialExpired(): Transition {
    this.state.nextCheckAt = null;
    return this.transition({ to: 'needs_reauth', ...because('credential_expired') });
  }

  onRevokeStarted(): Transition {
    this.state.nextCheckAt = null;
    return this.transition({ to: 'revoking', ...because('revoke_requested') });
  }

  onRevoked(vendorRevocation: string): Transition {
    this.state.tokenExpiresAt = null;
    this.state.tokenObtainedAt = null;
    const patch = { tokenExpiresAt: null, tokenObtainedAt: null };
    return this.transition({
      to: 'revoked',
      event: 'revoked',
      ...CLEARED,
      patch,
      detail: { vendorRevocation },
    });
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private healthyStatus(now: number): ConnectionStatus {
    const s = this.state;
    if (s.credentialExpiresAt !== null && now >= expiryWarningAt(s, this.policy)) {
      s.expiryWarned = true;
      return 'expiring';
    }
    return 'active';
  }

  /**
   * The vendor answered well: adopt the token it gave, if any, and forget earlier failures. Its answer also
   * proves the instance URL and settings.
   */
  private succeeded(token: TokenInfo | undefined, now: number): void {
    const s = this.state;
    if (token) {
      s.tokenObtainedAt = token.obtainedAt;
      s.tokenExpiresAt = token.expiresAt;
      s.credentialExpiresAt = token.credentialExpiresAt;
    }
    s.failures = 0;
    s.rejections = 0;
    s.lastCheckAt = now;
    s.configurationProven = true;
    s.failingSince = null;
    s.misconfiguredSince = null;
    s.linkDelayAnnounced = false;
  }

  private tokenPatch() {
    return {
      tokenObtainedAt: this.state.tokenObtainedAt,
      tokenExpiresAt: this.state.tokenExpiresAt,
      credentialExpiresAt: this.state.credentialExpiresAt,
    };
  }

  /** The last of `kinds` among the first `end` queued commands. */
  private lastQueued(end: number, ...kinds: Command['kind'][]): Command['kind'] | null {
    for (let i = end - 1; i >= 0; i--) {
      const kind = this.queue[i]!.kind;
      if (kinds.includes(kind)) return kind;
    }
    return null;
  }

  private transition({
    to,
    event,
    from = this.state.status,
    reason,
    message,
    patch = {},
    detail = {},
  }: Change): Transition {
    this.state.status = to;
    this.state.eventSeq += 1;
    return {
      seq: this.state.eventSeq,
      event,
      from,
      to,
      reason,
      message,
      patch: {
        ...patch,
        ...(TOKEN_DEAD.includes(to) ? { tokenObtainedAt: null, tokenExpiresAt: null } : {}),
        nextCheckAt: this.state.nextCheckAt,
        consecutiveFailures: this.state.failures + this.state.rejections,
        failingSince: this.state.failingSince,
      },
      detail,
    };
  }
}

/** What a scope check found, for the stored row. */
function scopesPatch(verification: ScopeVerification): Partial<Transition['patch']> {
  return {
    grantedScopes: verification.granted,
    missingScopes: verification.missing,
    missingOptionalScopes: verification.missingOptional ?? [],
  };
}

/** A snapshot carried by continueAsNew, with the fields runs of older code did not carry yet. */
function carriedOver(carried: MachineSnapshot): MachineSnapshot {
  const status = carried.status === 'paused' ? (carried.statusBeforePause ?? 'active') : carried.status;
  const added = {
    configurationProven: !NEVER_LINKED.includes(status),
    failingSince: null,
    misconfiguredSince: null,
    linkDelayAnnounced: false,
  };
  return { ...added, ...carried };
}

/** A duration as people read it in a message: 3 d, 24 h, 15 min, 40 s. */
function duration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
  ];
  for (const [size, unit] of units) if (ms >= size) return `${Math.floor(ms / size)} ${unit}`;
  return `${Math.floor(ms / 1000)} s`;
}
