// Switchable faults for one vendor: tests add them through the control API; every request consults them.
// With no faults configured (the benchmark case) a request pays one length check.
import type { AddFault, Fault } from './control-input';
import type { RouteKind } from './route-kind';

export interface ActiveFault extends AddFault {
  readonly id: string;
  /** Uses left; Infinity when the fault stays until removed. */
  remaining: number;
}

/** The combined effect of the faults that matched one request. */
export interface FaultEffect {
  delayMs: number;
  /** Added after the vendor handled the request (delay_answer). */
  answerDelayMs: number;
  droppedScopes: string[];
  revokeTokens: boolean;
  /** Send the answer body slowly, in pieces. */
  trickle?: { chunkBytes: number; intervalMs: number };
  /** A fault that answers instead of the vendor (status, malformed or html), if any matched. */
  answer?: Extract<Fault, { kind: 'status' | 'malformed' | 'html' }>;
}

export class FaultList {
  private faults: ActiveFault[] = [];

  get size(): number {
    return this.faults.length;
  }

  add(fault: ActiveFault): void {
    this.faults.push(fault);
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length !== before;
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /**
   * Applies the faults matching this request in the order they were added, using up one of each:
   * delays add up, dropped scopes accumulate, and the first answering fault ends the scan.
   */
  take(subject: string | undefined, kind: RouteKind, endpoint: string): FaultEffect | undefined {
    if (this.faults.length === 0) return undefined;
    let effect: FaultEffect | undefined;
    for (const fault of this.faults) {
      if (!appliesTo(fault, subject, kind, endpoint)) continue;
      effect ??= { delayMs: 0, answerDelayMs: 0, droppedScopes: [], revokeTokens: false };
      fault.remaining -= 1;
      const spec = fault.fault;
      if (spec.kind === 'delay') effect.delayMs += spec.ms;
      else if (spec.kind === 'delay_answer') effect.answerDelayMs += spec.ms;
      else if (spec.kind === 'drop_scopes') effect.droppedScopes.push(...spec.scopes);
      else if (spec.kind === 'revoke_tokens') effect.revokeTokens = true;
      else if (spec.kind === 'trickle')
        effect.trickle = { chunkBytes: spec.chunkBytes, intervalMs: spec.intervalMs };
      else {
        effect.answer = spec;
        break;
      }
    }
    if (effect) this.faults = this.faults.filter((f) => f.remaining > 0);
    return effect;
  }
}

function appliesTo(
  fault: ActiveFault,
  subject: string | undefined,
  kind: RouteKind,
  endpoint: string,
): boolean {
  if (fault.match !== '*' && fault.match !== subject) return false;
  if (fault.endpoint !== undefined && fault.endpoint !== endpoint) return false;
  if (fault.scope === 'all') return true;
  return fault.scope === 'api' ? kind === 'api' : kind !== 'api';
}
