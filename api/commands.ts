// Starting lifecycles and sending them commands. Every Temporal call here is bounded (commandTimeoutMs):
// a request always gets its answer, a 503 with Retry-After at worst, never an open connection.
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type WorkflowUpdateHandle,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { getVendor } from '../catalog';
import type { Connection } from '../platform/db';
import { connectionWorkflowId } from '../workflows/ids';
import type { connectionLifecycle } from '../workflows/connection-lifecycle';
import { STATUS, TENANT, VENDOR } from '../workflows/search-attributes';
import type { CommandName } from '../domain/audit-events';
import type { AppDeps } from './app';
import { ApiError, internalError } from './errors';
import { workflowSummary } from './workflow-summary';

/** How long the API waits for Temporal to take a command (TETHER_COMMAND_TIMEOUT_MS). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
/** What a 503 from here tells the client to wait: a worker restarting or a server failing over. */
export const RETRY_AFTER_SECONDS = 5;

const timeoutOf = (deps: Pick<AppDeps, 'commandTimeoutMs'>) =>
  deps.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;

/**
 * Start the connection's workflow; a second start for the same connection is a no-op. The workers'
 * reconciler (worker/reconciler.ts) starts it the same way for a connection stored while Temporal was down.
 */
export async function startLifecycle(
  deps: Pick<AppDeps, 'temporal' | 'taskQueue' | 'policy' | 'commandTimeoutMs'>,
  connection: Connection,
): Promise<void> {
  try {
    await deps.temporal.withDeadline(Date.now() + timeoutOf(deps), () =>
      deps.temporal.workflow.start<typeof connectionLifecycle>('connectionLifecycle', {
        taskQueue: deps.taskQueue,
        workflowId: connectionWorkflowId(connection.id),
        args: [
          {
            connectionId: connection.id,
            tenantId: connection.tenantId,
            vendor: connection.vendor,
            policy: deps.policy,
            // An app linked through the vendor's consent page has no token until POST /install and its callback.
            ...(getVendor(connection.vendor).auth.kind === 'oauth2_install' ? { awaitInstall: true } : {}),
          },
        ],
        // Idempotent: a running lifecycle is kept; a finished (revoked) one is never started again.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: VENDOR, value: connection.vendor },
          { key: TENANT, value: connection.tenantId },
          { key: STATUS, value: connection.status },
        ],
        ...workflowSummary(connection),
      }),
    );
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw unavailable(
      err,
      `the connection ${connection.id} is stored, but its workflow could not be started`,
    );
  }
}

/**
 * The update id of a command: derived from the caller's Idempotency-Key when it sent one, so a retry
 * after a timeout attaches to the update the first attempt sent instead of sending a second one; else
 * unique to the request. The key enters Temporal only as a keyed hash. `variant` separates commands
 * that differ under the same key (a rotation's new credentials, as their fingerprint).
 */
export function commandUpdateId(
  deps: AppDeps,
  connection: Connection,
  command: CommandName,
  idempotencyKey: string | undefined,
  variant = '',
): string {
  if (idempotencyKey === undefined) return `${command}:${randomUUID()}`;
  const digest = deps.secrets.fingerprint({
    purpose: 'command-update-id',
    tenantId: connection.tenantId,
    connectionId: connection.id,
    command,
    idempotencyKey,
    variant,
  });
  return `${command}:${digest.slice(0, 32)}`;
}

export type CommandSent<Ret> =
  /** The workflow answered. */
  | { completed: true; result: Ret }
  /** The workflow accepted the command but did not answer within `resultWaitMs`. */
  | { completed: false };

export interface CommandOptions {
  /** Default: unique to this call (see commandUpdateId). */
  updateId?: string;
  /** How long to wait for the result once the workflow accepted the command; default: the command timeout. */
  resultWaitMs?: number;
  /** Runs once the workflow accepted the command, before its result is awaited. */
  onAccepted?: () => Promise<void>;
}

/**
 * Send a command (a workflow update) and wait, within the command timeout, until the workflow accepted
 * it (then `onAccepted` runs); then up to `resultWaitMs` for its result. 409 when the workflow's
 * validator refuses it; 503 `command_unconfirmed` when Temporal did not confirm it in time (it may
 * still run: a retry with the same update id attaches to it).
 */
export async function startCommand<Ret, Args extends unknown[]>(
  deps: AppDeps,
  connection: Connection,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
  { updateId = `${update.name}:${randomUUID()}`, resultWaitMs, onAccepted }: CommandOptions = {},
): Promise<CommandSent<Ret>> {
  const timeoutMs = timeoutOf(deps);
  const handle = deps.temporal.workflow.getHandle(connectionWorkflowId(connection.id));
  let accepted: WorkflowUpdateHandle<Ret>;
  try {
    // The SDK overloads on arity; one generic call site needs the untyped form.
    accepted = (await deps.temporal.withDeadline(Date.now() + timeoutMs, () =>
      handle.startUpdate(update as unknown as UpdateDefinition<Ret, [unknown]>, {
        args: args as unknown as [unknown],
        updateId,
        waitForStage: 'ACCEPTED',
      }),
    )) as WorkflowUpdateHandle<Ret>;
  } catch (err) {
    throw commandError(err, connection, timeoutMs);
  }
  await onAccepted?.();
  try {
    // Commands that only queue answer with their acceptance, so this returns at once for them.
    const result = await deps.temporal.withDeadline(Date.now() + (resultWaitMs ?? timeoutMs), () =>
      accepted.result(),
    );
    return { completed: true, result };
  } catch (err) {
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return { completed: false };
    throw commandError(err, connection, timeoutMs);
  }
}

/**
 * startCommand for callers that need the result: a command accepted but not answered within
 * `resultWaitMs` is a 503 `command_pending` (it runs; a retry with the same update id reads its result).
 */
export async function sendCommand<Ret, Args extends unknown[]>(
  deps: AppDeps,
  connection: Connection,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
  options: CommandOptions = {},
): Promise<Ret> {
  const sent = await startCommand(deps, connection, update, args, options);
  if (sent.completed) return sent.result;
  throw new ApiError(
    503,
    'command_pending',
    "the connection's workflow took the command and has not finished it yet; look at the connection again shortly",
    undefined,
    undefined,
    RETRY_AFTER_SECONDS,
  );
}

/** The command was sent but Temporal did not confirm it in time: it may or may not run. */
export const isUnconfirmed = (err: unknown) => err instanceof ApiError && err.code === 'command_unconfirmed';

function commandError(err: unknown, connection: Connection, timeoutMs: number): ApiError {
  if (err instanceof WorkflowUpdateFailedError) {
    // The workflow's validator refused the command (e.g. refreshing a paused connection).
    return new ApiError(409, 'conflict', err.cause?.message ?? err.message);
  }
  if (err instanceof WorkflowNotFoundError) {
    return new ApiError(409, 'conflict', `connection is ${connection.status} and takes no more commands`);
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new ApiError(
      503,
      'command_unconfirmed',
      `the connection's workflow did not confirm the command within ${timeoutMs / 1000} s (Temporal or its ` +
        'worker is unavailable); it may still run. Retry with the same Idempotency-Key to attach to it ' +
        'rather than send another',
      undefined,
      undefined,
      RETRY_AFTER_SECONDS,
    );
  }
  return unavailable(err, 'the command could not be delivered');
}

/**
 * A Temporal call that failed for want of Temporal: 503 with an error id; the gRPC error (which names
 * internal addresses) goes to the log under it.
 */
export function unavailable(err: unknown, what: string): ApiError {
  return internalError(503, 'temporal_unavailable', `${what}; retry later`, err, RETRY_AFTER_SECONDS);
}
