// Commands from the API wait here in arrival order and run one at a time, so two refreshes never race and
// a rotation is never lost. The queue decides which commands the state refuses, which join an equal one,
// and holds a rotation's outcome until its waiting update takes it.
import type { InstallResult, MachineSnapshot, RotationOutcome } from '../domain/connection';
import type { Command, Step } from './machine-steps';

/** A command as the update handlers hand it in, before it has a ticket. */
export type CommandRequest =
  | { kind: 'refresh' }
  | { kind: 'rotate'; rotationId: string }
  | { kind: 'install'; result: InstallResult }
  | { kind: Command['kind'] };

export class CommandQueue {
  private commands: Command[] = [];
  private nextTicket = 1;
  private rotationOutcomes = new Map<number, RotationOutcome>();

  /**
   * @param joinsRunningRefresh How a refresh joined other work in histories recorded before the workflow's
   * REFRESH_JOINS_ONLY_UNSTARTED patch (see MachineOptions).
   */
  constructor(private readonly joinsRunningRefresh: () => boolean) {}

  kinds(): Command['kind'][] {
    return this.commands.map((c) => c.kind);
  }

  isEmpty(): boolean {
    return this.commands.length === 0;
  }

  /** The oldest command, taken off the queue. */
  take(): Command | undefined {
    return this.commands.shift();
  }

  /** Why a command cannot be accepted in state `s`, or null. Used by the update validators. */
  refuse(kind: Command['kind'], s: MachineSnapshot): string | null {
    if (s.status === 'revoked') return 'connection is revoked';
    if (s.status === 'revoking' || this.has('revoke')) {
      return kind === 'revoke' ? null : 'connection is being revoked';
    }
    // Before its first install there is no token to refresh, pause or rotate.
    if (s.awaitingInstall && kind !== 'install' && kind !== 'revoke') {
      return 'connection waits for its OAuth install';
    }
    const paused =
      s.status === 'paused' || this.lastQueued(this.commands.length, 'pause', 'resume') === 'pause';
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
    command: CommandRequest,
    s: MachineSnapshot,
    running: Step | null,
  ): { ticket: number; coalesced: boolean } {
    if (command.kind === 'refresh') {
      const joined = this.joinableByRefresh(running);
      if (joined) return { ticket: joined.ticket, coalesced: true };
    }
    if (command.kind === 'revoke' && (s.status === 'revoking' || this.has('revoke'))) {
      return { ticket: 0, coalesced: true };
    }
    const ticket = this.nextTicket++;
    this.commands.push({ ...command, ticket } as Command);
    return { ticket, coalesced: false };
  }

  /** A token request is queued or running: what ensureFreshToken waits out. */
  refreshInFlight(running: Step | null): boolean {
    return (
      this.commands.some((c) => c.kind === 'refresh' || c.kind === 'resume') ||
      running?.kind === 'refresh' ||
      running?.kind === 'establish'
    );
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

  /** What a new refresh joins, if anything (see enqueue). */
  private joinableByRefresh(running: Step | null): { ticket: number } | undefined {
    const refresh = this.commands.find((c) => c.kind === 'refresh');
    if (refresh) return refresh;
    const reestablishing = this.commands.find(
      (c, i) => c.kind === 'resume' && this.lastQueued(i, 'pause', 'resume') === 'pause',
    );
    // The old rule, for histories recorded under it: join a running refresh or establish (a resume was a
    // step of its own then, not joined), never a queued resume.
    const joinedBefore =
      running?.kind === 'refresh' || (running?.kind === 'establish' && running.after === undefined);
    if ((reestablishing || joinedBefore) && this.joinsRunningRefresh()) {
      return joinedBefore ? { ticket: 0 } : undefined;
    }
    return reestablishing;
  }

  private has(kind: Command['kind']): boolean {
    return this.commands.some((c) => c.kind === kind);
  }

  /** The last of `kinds` among the first `end` queued commands. */
  private lastQueued(end: number, ...kinds: Command['kind'][]): Command['kind'] | null {
    for (let i = end - 1; i >= 0; i--) {
      const kind = this.commands[i]!.kind;
      if (kinds.includes(kind)) return kind;
    }
    return null;
  }
}
