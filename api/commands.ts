// Starting lifecycles and sending them commands, with Temporal's errors turned into API answers.
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { getVendor } from '../catalog';
import type { Connection } from '../platform/db';
import { connectionWorkflowId } from '../workflows/ids';
import type { connectionLifecycle } from '../workflows/connection-lifecycle';
import { STATUS, TENANT, VENDOR } from '../workflows/search-attributes';
import type { AppDeps } from './app';
import { ApiError } from './errors';

/**
 * Start the connection's workflow; a second start for the same connection is a no-op. The workers'
 * reconciler (worker/reconciler.ts) starts it the same way for a connection stored while Temporal was down.
 */
export async function startLifecycle(
  deps: Pick<AppDeps, 'temporal' | 'taskQueue' | 'policy'>,
  connection: Connection,
): Promise<void> {
  try {
    await deps.temporal.workflow.start<typeof connectionLifecycle>('connectionLifecycle', {
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
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw unavailable(
      err,
      `the connection ${connection.id} is stored, but its workflow could not be started`,
    );
  }
}

export async function sendCommand<Ret, Args extends unknown[]>(
  deps: AppDeps,
  connection: Connection,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
): Promise<Ret> {
  const handle = deps.temporal.workflow.getHandle(connectionWorkflowId(connection.id));
  try {
    // The SDK overloads on arity; one generic call site needs the untyped form.
    return (await handle.executeUpdate(update as unknown as UpdateDefinition<Ret, [unknown]>, {
      args: args as unknown as [unknown],
    })) as Ret;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      // The workflow's validator refused the command (e.g. refreshing a paused connection).
      throw new ApiError(409, 'conflict', err.cause?.message ?? err.message);
    }
    if (err instanceof WorkflowNotFoundError) {
      throw new ApiError(409, 'conflict', `connection is ${connection.status} and takes no more commands`);
    }
    throw unavailable(err, 'the command could not be delivered');
  }
}

/** A Temporal call that failed for want of Temporal: 503, naming the gRPC cause. */
export function unavailable(err: unknown, what: string): ApiError {
  // The SDK's ServiceError says only which call failed; the gRPC error it wraps says why (e.g. UNAVAILABLE).
  const cause = (err as { cause?: { details?: unknown } } | undefined)?.cause?.details;
  const detail = [
    (err as Error)?.message?.split('\n')[0] ?? 'unknown error',
    typeof cause === 'string' ? cause : '',
  ]
    .filter(Boolean)
    .join(': ');
  return new ApiError(503, 'temporal_unavailable', `${what}; retry later (${detail})`);
}
