// Phases share one Temporal server, one task queue and one database. A connection's workflow keeps running
// (timers, refreshes) after the phase that linked it, and the next phase's worker on the same task queue
// would run it too: its CPU, rows and token requests would count as the later phase's. So each phase's
// workflows are terminated when it ends (their rows stay: the api phase reads them), and each phase that
// measures records how many were still running when it began (0 when isolated).
//
// Terminated from here, one RPC each with a few in flight, rather than with a server-side batch operation:
// each call returns once the termination is persisted, so the phase after it starts on a known state, a
// failure names its workflow, and nothing waits on the dev server's batch worker and its rate limit.
// Terminating runs no workflow code: no vendor call, no row written.
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { pool, sleep } from './stats';

/** The server is the run's own: everything running in its namespace belongs to some phase. */
const RUNNING = `ExecutionStatus = 'Running'`;

/** Workflows running now, from the server's visibility store. */
export async function runningWorkflows(client: Client): Promise<number> {
  return (await client.workflow.count(RUNNING)).count;
}

/**
 * Terminates every running workflow and waits until the visibility store shows none (it is updated a
 * moment after each termination); returns how many were terminated.
 */
export async function retireWorkflows(client: Client, limitMs = 60_000): Promise<number> {
  const deadline = Date.now() + limitMs;
  const asked = new Set<string>();
  let terminated = 0;
  for (;;) {
    const ids: string[] = [];
    for await (const w of client.workflow.list({ query: RUNNING })) ids.push(w.workflowId);
    if (!ids.length) return terminated;
    if (Date.now() > deadline)
      throw new Error(`${ids.length} workflows still running ${limitMs / 1000} s after being terminated`);
    // Those asked already are listed until visibility catches up: wait for it rather than ask again.
    const fresh = ids.filter((id) => !asked.has(id));
    if (!fresh.length) await sleep(250);
    await pool(fresh, 16, async (id) => {
      asked.add(id);
      try {
        await client.workflow.getHandle(id).terminate('benchmark phase over');
        terminated++;
      } catch (err) {
        // Ended meanwhile (a job finishing): nothing to retire.
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    });
  }
}
