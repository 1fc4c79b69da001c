// What the Temporal Web UI shows as a connection workflow's current details: its status, when it checks
// next, and why it is not healthy. Set from what the workflow already knows (the transition it just
// recorded, or its state when a run starts), so nothing secret; it is user metadata, encoded by the
// payload codec like any payload. setCurrentDetails emits no command: calling it changes no history
// and needs no patch.
import { setCurrentDetails } from '@temporalio/workflow';
import type { ConnectionStatus, MachineSnapshot } from '../domain/connection';
import type { Transition } from '../domain/transition';

export interface CurrentDetails {
  status: ConnectionStatus;
  nextCheckAt: number | null;
  consecutiveFailures: number;
  /** The last transition: what happened, when, and why (reason and message, when it said). */
  last?: { event: string; at: number; reason?: string | null; message?: string | null };
}

/** Statuses whose reason is no error (a pause, a revoke, a healthy token). */
const NO_ERROR: ConnectionStatus[] = ['active', 'expiring', 'paused', 'revoking', 'revoked'];

/** Vendor error texts can be long; the page shows a line. */
const MESSAGE_LENGTH = 300;

const iso = (ms: number) => new Date(ms).toISOString();

/** The details as the Web UI renders them (Markdown). */
export function describeCurrentDetails(d: CurrentDetails): string {
  const lines = [`**Status** ${d.status}`];
  lines.push(`**Next check** ${d.nextCheckAt === null ? 'none scheduled' : iso(d.nextCheckAt)}`);
  if (d.consecutiveFailures > 0) lines.push(`**Failed checks in a row** ${d.consecutiveFailures}`);
  if (d.last) {
    lines.push(`**Last event** ${d.last.event} at ${iso(d.last.at)}`);
    if (d.last.reason && !NO_ERROR.includes(d.status)) {
      const message = d.last.message ? `: ${d.last.message.slice(0, MESSAGE_LENGTH)}` : '';
      lines.push(`**Last error** ${d.last.reason}${message}`);
    }
  }
  return lines.join('\n');
}

/** After each recorded transition. */
export function showTransition(t: Transition, now: number): void {
  setCurrentDetails(
    describeCurrentDetails({
      status: t.to,
      nextCheckAt: t.patch.nextCheckAt,
      consecutiveFailures: t.patch.consecutiveFailures,
      last: { event: t.event, at: now, reason: t.reason, message: t.message },
    }),
  );
}

/** When a run starts (a new connection, or a continue-as-new carrying the state over). */
export function showSnapshot(s: MachineSnapshot): void {
  setCurrentDetails(
    describeCurrentDetails({ status: s.status, nextCheckAt: s.nextCheckAt, consecutiveFailures: s.failures }),
  );
}
