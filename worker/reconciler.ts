// Every connection has its workflow. The API stores a connection, then starts its workflow; when Temporal
// is down at that moment the API answers 503 with the row already stored, and a client that retries
// without the same Idempotency-Key links a second connection instead, leaving the first one unmaintained.
// Each worker therefore starts, at start-up and then periodically, the workflow of any connection that has
// none. Starting is idempotent (one workflow id per connection, an existing run is kept, a finished one is
// never started again), so workers doing it at the same time, or alongside the API, do no harm.
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Connection, Db } from '../platform/db';
import { wipeExpiredWebhookSecrets } from '../platform/webhook-secrets';
import { connectionWorkflowId } from '../workflows/ids';

export interface ReconcilerDeps {
  db: Db;
  temporal: Client;
  /** Start the connection's workflow, or keep the one it has: the API's own start. */
  start(connection: Connection): Promise<void>;
  logger: Logger;
}

/** Rows read per query, so a large fleet is never loaded at once. */
const BATCH = 500;
/** How long stop() waits for a pass in progress. */
const STOP_WAIT_MS = 5_000;

/** One pass: returns the connections that had no running workflow (each one started, or kept if it had). */
export async function reconcileWorkflows(deps: ReconcilerDeps): Promise<string[]> {
  const { db, temporal, start, logger } = deps;
  const running = new Set<string>();
  // Visibility may lag a start by a moment: a workflow missing here is started with "keep the existing
  // one", which then does nothing.
  for await (const workflow of temporal.workflow.list({
    query: `WorkflowType = 'connectionLifecycle' AND ExecutionStatus = 'Running'`,
  })) {
    running.add(workflow.workflowId);
  }
  const missing: string[] = [];
  let after: string | undefined;
  for (;;) {
    const rows = await db.connection.findMany({
      // A revoked connection's workflow has finished for good.
      where: { status: { not: 'revoked' }, ...(after ? { id: { gt: after } } : {}) },
      orderBy: { id: 'asc' },
      take: BATCH,
    });
    for (const connection of rows) {
      if (running.has(connectionWorkflowId(connection.id))) continue;
      await start(connection);
      missing.push(connection.id);
      logger.warn(
        { connectionId: connection.id, status: connection.status },
        'connection had no workflow: started it',
      );
    }
    if (rows.length < BATCH) return missing;
    after = rows[rows.length - 1]!.id;
  }
}

export interface RunningReconciler {
  /** Stops the periodic passes and waits for one in progress. */
  stop(): Promise<void>;
}

/**
 * A pass now, then one every `intervalMs`; a failed pass (Temporal or the database down) is logged. Each
 * pass also wipes the webhook secrets a rotation replaced once their overlap has ended.
 */
export function startReconciler(deps: ReconcilerDeps, intervalMs: number): RunningReconciler {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let pass: Promise<void> = Promise.resolve();
  const run = () => {
    const workflows = reconcileWorkflows(deps).then(
      () => undefined,
      (err: unknown) => deps.logger.warn({ err }, 'could not check that every connection has its workflow'),
    );
    // The same periodic pass removes webhook secrets whose rotation overlap ended.
    const secrets = wipeExpiredWebhookSecrets(deps.db, new Date()).then(
      () => undefined,
      (err: unknown) => deps.logger.warn({ err }, 'could not wipe expired webhook secrets'),
    );
    pass = Promise.all([workflows, secrets]).then(() => undefined);
    void pass.then(() => {
      if (!stopped) timer = setTimeout(run, intervalMs).unref();
    });
  };
  run();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      // A pass stuck on an unreachable Temporal must not hold up the worker's shutdown.
      await Promise.race([pass, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
    },
  };
}
