// Provisioning jobs: each one a workflow (`provision:<id>`) that runs one operation at the vendor through
// a connection. Rows are read and written through api/tenant-data.
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getVendor } from '../../catalog';
import type { Job } from '../../platform/db';
import { DEFAULT_POLICY } from '../../domain/policy';
import { DEFAULT_JOB_POLICY, FINISHED_JOB_STATUSES, type JobFailureReason } from '../../domain/jobs';
import { jobWorkflowId } from '../../workflows/ids';
import type { provisioningJob } from '../../workflows/provisioning-job';
import { TENANT, VENDOR } from '../../workflows/search-attributes';
import type { AppDeps } from '../app';
import { readScope, requestActor } from '../auth';
import type { TenantData } from '../tenant-data';
import { ApiError, validationError } from '../errors';
import { ErrorSchema, IdParamsSchema } from '../schemas';
import {
  ConnectionJobListQuerySchema,
  CreateJobSchema,
  IdempotencyHeaders,
  JobListQuerySchema,
  JobListSchema,
  JobSchema,
} from '../job-schemas';

const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema };

export const jobRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  const { connections, jobs } = data;

  app.post(
    '/connections/:id/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: "Start a provisioning job: one operation at the connection's vendor, run durably",
        params: IdParamsSchema,
        headers: IdempotencyHeaders,
        body: CreateJobSchema,
        response: { 202: JobSchema, ...errors },
      },
    },
    async (request, reply) => {
      const connection = await connections.get(readScope(request), request.params.id);
      const { operation, input } = request.body;
      const vendor = getVendor(connection.vendor);
      const spec = vendor.operations?.find((o) => o.name === operation);
      if (!spec) {
        const offered = (vendor.operations ?? []).map((o) => o.name);
        throw validationError([
          {
            field: 'body.operation',
            message: offered.length
              ? `${vendor.name} offers ${offered.join(', ')}`
              : `${vendor.name} offers no provisioning operations yet`,
          },
        ]);
      }
      const parsed = spec.input.safeParse(input);
      if (!parsed.success) {
        throw validationError(
          parsed.error.issues.map((i) => ({
            field: ['body', 'input', ...i.path.map(String)].join('.'),
            message: i.message,
          })),
        );
      }
      if (connection.status === 'revoked' || connection.status === 'revoking') {
        throw new ApiError(409, 'conflict', `connection is ${connection.status}`);
      }

      const key = request.headers['idempotency-key'];
      const requestHash = deps.secrets.fingerprint({ connectionId: connection.id, body: request.body });
      if (key) {
        const replay = await replayIdempotent(connection.tenantId, key, requestHash);
        if (replay) return reply.status(202).send(replay);
      }
      const job = await jobs.create({
        id: randomUUID(),
        tenantId: connection.tenantId,
        connectionId: connection.id,
        vendor: vendor.id,
        operation,
        input: parsed.data as Record<string, unknown>,
        ...(key ? { idempotency: { key, requestHash } } : {}),
        actor: requestActor(request),
      });
      if (!job) {
        const replay = await replayIdempotent(connection.tenantId, key!, requestHash);
        if (replay) return reply.status(202).send(replay);
        throw new ApiError(409, 'conflict', 'a request with this Idempotency-Key is in progress; retry');
      }
      await startJob(job);
      return reply.status(202).send(jobView(job));
    },
  );

  /** The earlier answer for a reused Idempotency-Key (its workflow started again if that failed). */
  async function replayIdempotent(tenantId: string, key: string, requestHash: string) {
    const existing = await jobs.byIdempotencyKey(tenantId, key);
    if (!existing) return null;
    if (existing.requestHash !== requestHash) {
      throw new ApiError(
        409,
        'idempotency_key_reused',
        'this Idempotency-Key was used with a different request',
      );
    }
    await startJob(existing);
    return jobView(existing);
  }

  async function startJob(job: Job): Promise<void> {
    const policy = {
      ...DEFAULT_JOB_POLICY,
      ...deps.jobs,
      webhookRetry: { ...DEFAULT_POLICY.webhookRetry, ...deps.policy.webhookRetry },
    };
    try {
      await deps.temporal.workflow.start<typeof provisioningJob>('provisioningJob', {
        taskQueue: deps.taskQueue,
        workflowId: jobWorkflowId(job.id),
        args: [{ jobId: job.id, policy }],
        // Idempotent: a running job is kept; a finished one is never started again.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: VENDOR, value: job.vendor },
          { key: TENANT, value: job.tenantId },
        ],
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw new ApiError(
        503,
        'temporal_unavailable',
        `the job ${job.id} is stored, but its workflow could not be started; retry with the same Idempotency-Key`,
      );
    }
  }

  app.get(
    '/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        params: IdParamsSchema,
        response: { 200: JobSchema, 400: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request) => jobView(await jobs.get(readScope(request), request.params.id)),
  );

  app.get(
    '/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: "The tenant's jobs, newest first, filtered by status, operation and connection",
        querystring: JobListQuerySchema,
        response: { 200: JobListSchema, 400: ErrorSchema },
      },
    },
    async (request) => {
      const page = await jobs.list(readScope(request), request.query);
      return { items: page.items.map(jobView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/connections/:id/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: "A connection's jobs, newest first, filtered by status and operation",
        params: IdParamsSchema,
        querystring: ConnectionJobListQuerySchema,
        response: { 200: JobListSchema, 400: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      const scope = readScope(request);
      const connection = await connections.get(scope, request.params.id);
      const page = await jobs.list(scope, { ...request.query, connectionId: connection.id });
      return { items: page.items.map(jobView), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/jobs/:id/cancel',
    {
      schema: {
        tags: ['jobs'],
        summary:
          'Cancel a job: it stops waiting and retrying; an attempt already at the vendor is waited for and reported',
        params: IdParamsSchema,
        response: { 202: JobSchema, ...errors },
      },
    },
    async (request, reply) => {
      const job = await jobs.get(readScope(request), request.params.id);
      if (FINISHED_JOB_STATUSES.includes(job.status)) {
        throw new ApiError(409, 'conflict', `the job already ended ${job.status}`);
      }
      try {
        await deps.temporal.workflow.getHandle(jobWorkflowId(job.id)).cancel();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          throw new ApiError(409, 'conflict', 'the job already ended');
        throw new ApiError(503, 'temporal_unavailable', 'the cancel could not be delivered; retry later');
      }
      return reply.status(202).send(jobView(job));
    },
  );
};

function jobView(job: Job) {
  return {
    id: job.id,
    tenantId: job.tenantId,
    connectionId: job.connectionId,
    vendor: job.vendor,
    operation: job.operation,
    input: job.input as Record<string, unknown>,
    status: job.status,
    vendorId: job.vendorId,
    result: (job.result as Record<string, unknown> | null) ?? null,
    failure:
      job.failureReason !== null
        ? { reason: job.failureReason as JobFailureReason, message: job.failureMessage ?? '' }
        : null,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
    workflowId: jobWorkflowId(job.id),
  };
}
