// Whether a connection's workflow is still working on a command: one is queued, or the step one began is
// running. Only the workflow knows: the audit trail cannot tell a command's answer from that of a step its
// timer began before the command arrived (connect/outcome.ts).
import type { Connection } from '../../platform/db';
import { connectionWorkflowId } from '../../workflows/ids';
import { statusQuery } from '../../workflows/messages';
import type { AppDeps } from '../app';

/** How long the page's answer waits on the workflow's status query. */
const STATUS_QUERY_WAIT_MS = 2_000;

export async function commandUnderWay(deps: Pick<AppDeps, 'temporal'>, connection: Connection) {
  const handle = deps.temporal.workflow.getHandle(connectionWorkflowId(connection.id));
  const view = await deps.temporal
    .withDeadline(Date.now() + STATUS_QUERY_WAIT_MS, () => handle.query(statusQuery))
    .catch(() => null);
  // No answer in time: the command may still be under way.
  return view === null || view.pendingCommands.length > 0 || view.busyWithCommand;
}
