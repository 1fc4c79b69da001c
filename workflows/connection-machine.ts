// The connection's state machine, free of Temporal and of I/O so unit tests drive it directly.
// The workflow asks it what to do next (`nextStep`), performs that step with activities, and feeds
// the outcome back (`on*`), which returns the transition to persist. Its parts are plain modules of
// their own: the state and how it changes (machine-state.ts), the commands waiting their turn
// (command-queue.ts), which step comes next (machine-steps.ts), and what a failure does
// (failure-policy.ts).
import type { ConnectionEvent, Transition } from '../domain/transition';
import type {
  ConnectionStatus,
  ConnectionView,
  MachineSnapshot,
  RotationOutcome,
} from '../domain/connection';
import type { MaintenancePolicy } from '../domain/policy';
import { CommandQueue, type CommandRequest } from './command-queue';
import { afterFailure, afterMissingScopes, type FailureRules } from './failure-policy';
import {
  applyChange,
  carriedOver,
  CLEARED,
  because,
  healthyStatus,
  initialState,
  scopesPatch,
  succeeded,
  tokenPatch,
  USABLE,
  WAITING_FOR_HUMAN,
  type Change,
} from './machine-state';
import { stepForCommand, stepForTimer, type Command, type Step, type VendorStep } from './machine-steps';
import { nextHealthyCheck } from './schedule';
import { rotationOutcome, type StepOutcome } from './step-outcome';

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

export class ConnectionMachine {
  private state: MachineSnapshot;
  private readonly queue: CommandQueue;
  private readonly failureRules: FailureRules;
  private readonly configurationFaultsRefuse: () => boolean;
  private running: Step | null = null;
  /** The running step was taken from the command queue, not begun by a timer. */
  private runningCommand = false;
  private steps = 0;

  constructor(
    private readonly policy: MaintenancePolicy,
    private readonly random: () => number,
    carried?: MachineSnapshot,
    options: MachineOptions = {},
  ) {
    this.queue = new CommandQueue(options.joinsRunningRefresh ?? (() => false));
    this.configurationFaultsRefuse = options.configurationFaultsRefuse ?? (() => false);
    this.failureRules = {
      policy,
      random,
      linksWaitForever: options.linksWaitForever ?? (() => false),
      scopesWaitForHuman: options.scopesWaitForHuman ?? (() => false),
    };
    this.state = carried ? carriedOver(carried) : initialState(options.awaitInstall === true);
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
      pendingCommands: this.queue.kinds(),
      busyWith: this.running?.kind ?? null,
      busyWithCommand: this.runsCommand(),
    };
  }

  hasQueuedCommands(): boolean {
    return !this.queue.isEmpty();
  }

  /** The step running is a command's (its caller may be waiting on what it finds), not a timer's. */
  runsCommand(): boolean {
    return this.running !== null && this.runningCommand;
  }

  /**
   * This run took its share of steps (maxStepsPerRun) and should continue as new. Every command taken
   * counts, a resume with nothing to do too: it was a step of its own when older histories were recorded.
   */
  runIsFull(): boolean {
    return this.steps >= this.policy.maxStepsPerRun;
  }

  // ---- commands (called from update handlers; the rules are the queue's) ----------------------

  /** Why a command cannot be accepted now, or null. Used by the update validators. */
  refuse(kind: Command['kind']): string | null {
    return this.queue.refuse(kind, this.state);
  }

  /** Queue a command; returns its ticket and whether it joined an equal one (CommandQueue.enqueue). */
  enqueue(command: CommandRequest): { ticket: number; coalesced: boolean } {
    return this.queue.enqueue(command, this.state, this.running);
  }

  /** Publish a rotation's outcome to its waiting update, once its transition is persisted. */
  settleRotation(ticket: number, outcome: RotationOutcome): void {
    this.queue.settleRotation(ticket, outcome);
  }

  /** A rotation's outcome once settled; taking it forgets it. */
  takeRotationOutcome(ticket: number): RotationOutcome | undefined {
    return this.queue.takeRotationOutcome(ticket);
  }

  /** A token request is queued or running: what ensureFreshToken waits out. */
  refreshInFlight(): boolean {
    return this.queue.refreshInFlight(this.running);
  }

  // ---- scheduling ------------------------------------------------------------------------------

  /** What the workflow should do now. Commands first, in arrival order; then timers. */
  nextStep(now: number): Step {
    if (this.state.status === 'revoked') return { kind: 'done' };
    const command = this.queue.take();
    if (command) {
      this.steps += 1;
      const step = stepForCommand(this.state, command);
      // A resume of a connection that is not paused has nothing to do.
      return step ? this.begin(step, true) : this.nextStep(now);
    }

    const due = this.state.nextCheckAt;
    if (due === null || now < due) return { kind: 'wait', untilMs: due };
    this.steps += 1;
    return this.begin(stepForTimer(this.state, this.policy, now), false);
  }

  private begin(step: Step, byCommand: boolean): Step {
    this.running = step;
    this.runningCommand = byCommand;
    return step;
  }

  /** The step finished (its transition, if any, already applied). */
  finish(): void {
    this.running = null;
    this.runningCommand = false;
  }

  // ---- outcomes --------------------------------------------------------------------------------

  /** Outcome of establish / refresh / probe / install. */
  onVendorStep(step: VendorStep, recorded: StepOutcome, now: number): Transition {
    const s = this.state;
    const outcome = this.asOfItsHistory(recorded);
    // An install on a connection that never linked (a refused install before it) links it.
    const linking = s.status === 'linking' || (step.kind === 'install' && !s.configurationProven);
    const atLink = (step.kind === 'establish' || step.kind === 'install') && linking;
    // Whatever the re-establish after a resume (or a relink) finds is reported as leaving the status it left.
    const resumed = step.kind === 'establish' && step.after === 'resume';
    const origin = resumed
      ? { from: 'paused' as const, detail: { resumed: true } }
      : step.kind === 'establish' && step.after === 'relink'
        ? { from: step.from }
        : {};

    if (outcome.kind === 'insufficient_scopes') {
      const { token, verification } = outcome;
      return this.transition(afterMissingScopes(s, this.failureRules, token, verification, origin, now));
    }
    if (outcome.kind !== 'ok') {
      return this.transition(afterFailure(s, this.failureRules, outcome, atLink, origin, now));
    }

    const recovering =
      s.failures > 0 || s.rejections > 0 || s.status === 'degraded' || WAITING_FOR_HUMAN.includes(s.status);
    succeeded(s, outcome.token, now);
    const to = healthyStatus(s, this.policy, now);
    s.nextCheckAt = nextHealthyCheck(s, this.policy, this.random, now);
    // An establish outside link and resume runs only from a state a human had to leave: a recovery.
    const event: ConnectionEvent = atLink
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
        ...tokenPatch(s),
        ...(outcome.verification ? scopesPatch(outcome.verification) : {}),
        lastCheckAt: now,
        lastSuccessAt: now,
      },
    });
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
    succeeded(s, verified.kind === 'ok' ? verified.token : undefined, now);
    s.expiryWarned = false;
    const checked = verified.kind === 'ok' ? verified.verification : undefined;
    const granted = checked
      ? scopesPatch(checked)
      : { grantedScopes: outcome.grantedScopes, missingScopes: [] };
    const patch = { ...tokenPatch(s), ...granted, lastCheckAt: now, lastSuccessAt: now };
    const rotated = { event: 'credentials_rotated' as const, patch };
    if (s.status === 'paused') {
      s.statusBeforePause = 'active';
      return {
        outcome,
        transition: this.transition({ to: 'paused', ...rotated, reason: 'paused', message: null }),
      };
    }
    s.nextCheckAt = nextHealthyCheck(s, this.policy, this.random, now);
    return {
      outcome,
      transition: this.transition({ to: healthyStatus(s, this.policy, now), ...rotated, ...CLEARED }),
    };
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

  private transition(change: Change): Transition {
    return applyChange(this.state, change);
  }
}
