// What a command led to, for callers that wait (`?wait=<seconds>`). The workflow's status query says
// when the step the command caused has run: nothing of its kind is queued or running any more. The
// connection row and the audit trail then say what that step did. A command that joined an equal one
// (coalesced) is settled by the same test: it is done when the one it joined is.
import type { Connection } from '../platform/db';
import { connectionWorkflowId } from '../workflows/ids';
import { statusQuery } from '../workflows/messages';
import type { CommandName } from '../domain/audit-events';
import type { ConnectionStatus, VendorRevocation } from '../domain/connection';
import type { AppDeps } from './app';
import type { TenantData } from './tenant-data';

const POLL_MS = 150;

/**
 * The machine's names (status query: pendingCommands, busyWith) for a command while it is queued and for
 * the steps it runs as. A refresh may have joined a queued resume, which re-establishes; a resume runs as
 * an establish.
 */
const IN_FLIGHT: Record<
  Exclude<CommandName, 'rotate' | 'revoke'>,
  { queued: string[]; running: string[] }
> = {
  refresh: { queued: ['refresh', 'resume'], running: ['refresh', 'establish', 'probe', 'resume'] },
  pause: { queued: ['pause'], running: ['pause'] },
  resume: { queued: ['resume'], running: ['resume', 'establish'] },
  install: { queued: ['install'], running: ['install'] },
};

/** Statuses that are no failure: anything else after a step reports the step's reason as its error. */
const HEALTHY: ConnectionStatus[] = ['active', 'expiring', 'paused', 'revoking', 'revoked'];

/** Wait until the step `command` caused has run; false when `untilMs` came first. */
export async function settled(
  deps: AppDeps,
  data: TenantData,
  connection: Connection,
  command: Exclude<CommandName, 'rotate'>,
  untilMs: number,
): Promise<boolean> {
  const handle = deps.temporal.workflow.getHandle(connectionWorkflowId(connection.id));
  for (;;) {
    const row = await data.connections.get(connection.tenantId, connection.id);
    // A revoked connection's workflow has ended: nothing else will run.
    if (row.status === 'revoked') return true;
    if (command !== 'revoke') {
      const view = await deps.temporal
        .withDeadline(untilMs, () => handle.query(statusQuery))
        .catch(() => null);
      const inFlight = IN_FLIGHT[command];
      if (
        view &&
        !view.pendingCommands.some((kind) => inFlight.queued.includes(kind)) &&
        !(view.busyWith !== null && inFlight.running.includes(view.busyWith))
      ) {
        return true;
      }
    }
    if (Date.now() + POLL_MS >= untilMs) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** What the step did, read once it has run: the newest transition since the command, and the row. */
export async function outcomeOf(data: TenantData, connection: Connection, sentAfterEventId: bigint) {
  const row = await data.connections.get(connection.tenantId, connection.id);
  const events = await data.audit.since(connection, sentAfterEventId);
  // A command that joined a step whose transition was recorded before it was sent: that transition.
  const transition =
    events.filter((e) => e.actor === 'workflow').at(-1) ?? (await data.audit.latestTransition(connection));
  const failing = !HEALTHY.includes(row.status) && row.statusReason !== null;
  return {
    events,
    outcome: {
      event: transition?.type ?? null,
      status: row.status,
      error: failing ? { reason: row.statusReason!, message: row.statusMessage } : null,
      tokenExpiresAt: row.tokenExpiresAt?.toISOString() ?? null,
      nextCheckAt: row.nextCheckAt?.toISOString() ?? null,
      // Written only by the revoke step, from VENDOR_REVOCATIONS.
      vendorRevocation: row.vendorRevocation as VendorRevocation | null,
    },
  };
}
