// Activities of a provisioning job. Inputs and results carry the job's id, statuses, reasons and the
// vendor's ids, never a token: the token is read from the encrypted store here, next to the call that
// uses it, and the job's input (a person's attributes) is read from its row.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { getVendor } from '../catalog';
import type { OperationSpec, VendorEndpoints } from '../vendor-kit/definition';
import { OperationRefused } from '../vendor-kit/operation-error';
import { missingOperationScope } from '../vendor-kit/operation-scopes';
import { BudgetExhausted } from '../vendor-kit/rate-limits';
import { VendorError } from '../vendor-kit/vendor-error';
import type { VendorHttp } from '../vendor-kit/vendor-http';
import type { Db, Prisma } from '../platform/db';
import type { SecretStore } from '../platform/secret-store';
import { DEFAULT_QUOTAS } from '../platform/config';
import { FailureType } from '../domain/failures';
import type { ConnectionStatus } from '../domain/connection';
import {
  FINISHED_JOB_STATUSES,
  JOB_FAILURE_TYPES,
  WAITING_CONNECTION_STATUSES,
  type JobFailureReason,
  type JobStatus,
  type OperationResult,
} from '../domain/jobs';
import type { WebhookEventType } from '../domain/webhook-events';

import { internalFailure, tagVendor, vendorRetryDelay } from './failures';
import { countRefusedDeliveries, recordRefusedDeliveries } from './webhook-delivery';
import { queueWebhookDeliveries } from '../platform/webhook-outbox';
import { budgetedContext, budgetWaitFailure, type SharedRateLimits } from './rate-budgets';

export interface JobActivityDeps {
  db: Db;
  secrets: SecretStore;
  http: VendorHttp;
  endpoints?: VendorEndpoints;
  /** The tenant's pending webhook deliveries quota (TETHER_QUOTA_PENDING_DELIVERIES); default its default. */
  pendingDeliveriesLimit?: number;
  rateLimits?: SharedRateLimits;
}

/** How long the token must stay valid for one operation (its calls and retries inside one attempt). */
const MIN_TOKEN_VALIDITY_MS = 120_000;
/** Longest Retry-After the server waits before the next attempt; a longer one is capped (and retried then). */
const MAX_RETRY_AFTER_MS = 600_000;

/** How a job ended, as the workflow reports it. */
export type JobOutcome =
  | { status: 'succeeded'; result: OperationResult }
  | { status: 'failed'; reason: JobFailureReason; message: string }
  | { status: 'cancelled' };

/** Connection statuses that end a job at once, with the reason a person acts on. */
const UNUSABLE: Partial<Record<ConnectionStatus, JobFailureReason>> = {
  needs_reauth: 'connection_needs_reauth',
  invalid_credentials: 'connection_needs_reauth',
  insufficient_scopes: 'connection_unusable',
  invalid_configuration: 'connection_unusable',
  link_failed: 'connection_unusable',
  revoking: 'connection_unusable',
  revoked: 'connection_unusable',
};

export function createJobActivities(deps: JobActivityDeps) {
  const { db, secrets, pendingDeliveriesLimit = DEFAULT_QUOTAS.pendingDeliveries } = deps;
  /** The bearer token for the connection, fresh for at least MIN_TOKEN_VALIDITY_MS. */
  async function tokenFor(connectionId: string, vendorId: string): Promise<string> {
    let connection = await db.connection.findUniqueOrThrow({ where: { id: connectionId } });
    const expiresAt = connection.tokenExpiresAt?.getTime();
    if (expiresAt !== undefined && expiresAt - Date.now() < MIN_TOKEN_VALIDITY_MS) {
      // The connection's workflow refreshes (joining a refresh already queued), so no two refreshes race.
      await Context.current()
        .client.workflow.getHandle(`connection:${connectionId}`)
        .executeUpdate('ensureFreshToken', { args: [{ minValidityMs: MIN_TOKEN_VALIDITY_MS }] });
      connection = await db.connection.findUniqueOrThrow({ where: { id: connectionId } });
    }
    const token =
      getVendor(vendorId).auth.kind === 'static_bearer'
        ? (await secrets.readCredentials(connectionId))?.token
        : await secrets.readAccessToken(connectionId);
    if (!token) throw new OperationRefused('connection_needs_reauth', 'the connection holds no usable token');
    return token;
  }

  return {
    /** Run the job's operation at the vendor once (Temporal retries the transient failures). */
    async runJobOperation({ jobId }: { jobId: string }): Promise<OperationResult> {
      const job = await db.job.findUniqueOrThrow({ where: { id: jobId } });
      const vendor = getVendor(job.vendor);
      tagVendor(vendor.id);
      const outcome = (value: string) =>
        Context.current()
          .metricMeter.createCounter(
            'tether_provisioning_calls',
            'calls',
            'Provisioning operation attempts by vendor, operation and outcome',
          )
          .add(1, { vendor: vendor.id, operation: job.operation, outcome: value });
      try {
        const spec = operationOf(vendor.operations, job.operation);
        const connection = await db.connection.findUniqueOrThrow({ where: { id: job.connectionId } });
        const waitFor = (WAITING_CONNECTION_STATUSES as readonly string[]).includes(connection.status);
        if (waitFor) {
          throw ApplicationFailure.create({
            type: JOB_FAILURE_TYPES.connectionNotReady,
            message: `the connection is ${connection.status}`,
            details: [{ status: connection.status }],
            nonRetryable: true,
          });
        }
        const unusable = UNUSABLE[connection.status];
        if (unusable) {
          throw new OperationRefused(
            unusable,
            `the connection is ${connection.status}${connection.statusMessage ? `: ${connection.statusMessage}` : ''}`,
          );
        }
        const input = spec.input.parse(job.input);
        const notGranted = missingOperationScope(vendor, spec, input, connection);
        if (notGranted) throw notGranted;
        const token = await tokenFor(connection.id, vendor.id);
        await db.job.updateMany({
          where: { id: jobId, status: { in: ['queued', 'waiting_for_connection'] } },
          data: { status: 'running' },
        });
        const result = await spec.run(
          // A slot far ahead is held for this job: its next call takes it instead of queueing again.
          budgetedContext(connection, vendor, deps, `job:${jobId}`),
          token,
          input,
          {
            resumed: job.vendorRequestSentAt !== null,
            markSent: async () => {
              await db.job.update({ where: { id: jobId }, data: { vendorRequestSentAt: new Date() } });
            },
            markNotSent: async () => {
              await db.job.update({ where: { id: jobId }, data: { vendorRequestSentAt: null } });
            },
            reference: jobReference(jobId),
            madeEarlier: job.vendorId,
            recordMade: async (vendorId) => {
              await db.job.update({ where: { id: jobId }, data: { vendorId } });
            },
          },
        );
        outcome(result.adopted ? 'adopted' : 'ok');
        return result;
      } catch (err) {
        const failure = toJobFailure(err);
        outcome(failure instanceof ApplicationFailure ? (failure.type ?? 'error') : 'error');
        throw failure;
      }
    },

    async markJobWaiting({ jobId }: { jobId: string }): Promise<void> {
      await db.job.updateMany({
        where: { id: jobId, status: { in: ['queued', 'running'] } },
        data: { status: 'waiting_for_connection' },
      });
    },

    /**
     * Record how the job ended, its audit event on the connection and its webhook deliveries, in one
     * transaction; a retried call finds what the first one wrote. Returns the deliveries to send.
     */
    async finishJob({
      jobId,
      outcome,
    }: {
      jobId: string;
      outcome: JobOutcome;
    }): Promise<{ deliveries: string[] }> {
      const { deliveries, refused } = await db.$transaction(async (tx) => {
        const finished = await tx.job.updateMany({
          where: { id: jobId, status: { notIn: [...FINISHED_JOB_STATUSES] } },
          data: {
            status: outcome.status,
            finishedAt: new Date(),
            ...(outcome.status === 'succeeded'
              ? {
                  vendorId: outcome.result.vendorId,
                  result: { ...outcome.result } as unknown as Prisma.InputJsonObject,
                }
              : {}),
            ...(outcome.status === 'failed'
              ? { failureReason: outcome.reason, failureMessage: outcome.message }
              : {}),
          },
        });
        if (finished.count === 0) {
          const earlier = await tx.webhookDelivery.findMany({
            where: { id: { startsWith: `evt_job_${jobId}_` }, status: 'pending' },
            select: { id: true },
          });
          return { deliveries: earlier.map((d) => d.id), refused: null };
        }
        const job = await tx.job.findUniqueOrThrow({
          where: { id: jobId },
          include: { lifecycleTarget: { select: { eventId: true } } },
        });
        const reason = outcome.status === 'failed' ? outcome.reason : outcome.status;
        Context.current()
          .metricMeter.createCounter(
            'tether_provisioning_jobs',
            'jobs',
            'Finished provisioning jobs by outcome',
          )
          .add(1, { vendor: job.vendor, operation: job.operation, outcome: reason });
        await tx.auditEvent.create({
          data: {
            connectionId: job.connectionId,
            tenantId: job.tenantId,
            type: `job_${outcome.status}`,
            actor: 'workflow',
            dedupeKey: `job:${jobId}`,
            detail: {
              jobId,
              operation: job.operation,
              ...(job.vendorId ? { vendorId: job.vendorId } : {}),
              ...(job.failureReason ? { reason: job.failureReason, message: job.failureMessage } : {}),
            },
          },
        });
        const type: WebhookEventType | null =
          outcome.status === 'succeeded'
            ? 'job.succeeded'
            : outcome.status === 'failed'
              ? 'job.failed'
              : null;
        if (!type) return { deliveries: [], refused: null };
        const { queued, refused } = await queueWebhookDeliveries(
          tx,
          {
            tenantId: job.tenantId,
            connectionId: job.connectionId,
            type,
            idPrefix: `evt_job_${jobId}_`,
            payload: {
              type,
              timestamp: new Date().toISOString(),
              data: {
                jobId,
                connectionId: job.connectionId,
                tenantId: job.tenantId,
                vendor: job.vendor,
                operation: job.operation,
                status: job.status as JobStatus,
                vendorId: job.vendorId,
                reason: job.failureReason,
                message: job.failureMessage,
                // The person's lifecycle event this job is a target of, if any.
                lifecycleEventId: job.lifecycleTarget?.eventId ?? null,
              },
            },
          },
          pendingDeliveriesLimit,
        );
        await recordRefusedDeliveries(
          tx,
          { connectionId: job.connectionId, tenantId: job.tenantId, type },
          refused,
          pendingDeliveriesLimit,
        );
        return { deliveries: queued, refused: { type, count: refused.length } };
      });
      if (refused) countRefusedDeliveries(refused.type, refused.count);
      return { deliveries };
    },
  };
}

export type JobActivities = ReturnType<typeof createJobActivities>;

/** What a job's creates carry at the vendor (a ticket's reference field, a request's description). */
export function jobReference(jobId: string): string {
  return `tether-job-${jobId}`;
}

function operationOf(operations: readonly OperationSpec[] | undefined, name: string): OperationSpec {
  const spec = operations?.find((o) => o.name === name);
  if (!spec) throw new OperationRefused('invalid_attribute', `the vendor has no operation ${name}`);
  return spec;
}

/** The ApplicationFailure Temporal retries (transient) or not (a reason a person acts on). */
function toJobFailure(err: unknown): unknown {
  if (err instanceof OperationRefused) return refused(err.reason, err.message);
  if (err instanceof BudgetExhausted) return budgetWaitFailure(err);
  if (!(err instanceof VendorError)) return internalFailure(err);
  switch (err.type) {
    case FailureType.RateLimited:
      return ApplicationFailure.create({
        type: FailureType.RateLimited,
        message: err.message,
        // The server schedules the next attempt when the vendor said, instead of the worker sleeping.
        nextRetryDelay: vendorRetryDelay(err, MAX_RETRY_AFTER_MS),
      });
    case FailureType.VendorUnavailable:
      return ApplicationFailure.create({ type: FailureType.VendorUnavailable, message: err.message });
    case FailureType.TokenRejected:
    case FailureType.InvalidCredentials:
    case FailureType.ReauthRequired:
      return refused('connection_needs_reauth', err.message);
    default:
      return refused('connection_unusable', err.message);
  }
}

function refused(reason: JobFailureReason, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: JOB_FAILURE_TYPES.refused,
    message,
    details: [{ reason }],
    nonRetryable: true,
  });
}
