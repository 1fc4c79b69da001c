// Lifecycle events: one person's joiner, mover or leaver across the tenant's connections, run by one
// workflow (`lifecycle:<id>`) whose children are the targets' provisioning jobs. Rows are read and
// written through api/tenant-data.
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getVendor } from '../../catalog';
import { DEFAULT_POLICY } from '../../domain/policy';
import {
  DEFAULT_JOB_POLICY,
  FINISHED_JOB_STATUSES,
  type JobFailureReason,
  type JobStatus,
} from '../../domain/jobs';
import { DEFAULT_LIFECYCLE_POLICY, targetJobPolicy, type LifecycleKind } from '../../domain/lifecycle-events';
import { lifecycleEventWorkflowId } from '../../workflows/ids';
import type { lifecycleEvent } from '../../workflows/lifecycle-event';
import { TENANT } from '../../workflows/search-attributes';
import type { AppDeps } from '../app';
import { readScope, requestActor, writeTenant } from '../auth';
import type { TenantData } from '../tenant-data';
import type { LifecycleEventRow, NewLifecycleEvent } from '../tenant-data/lifecycle-events';
import { ApiError, validationError } from '../errors';
import { ErrorSchema, IdParamsSchema } from '../schemas';
import { IdempotencyHeaders } from '../job-schemas';
import { defaultOperation, targetInput } from '../lifecycle-input';
import {
  CreateLifecycleEventSchema,
  LifecycleEventListQuerySchema,
  LifecycleEventListSchema,
  LifecycleEventSchema,
  type CreateLifecycleEvent,
} from '../lifecycle-schemas';

type Issue = { field: string; message: string };

export const lifecycleEventRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  const { lifecycleEvents } = data;

  app.post(
    '/lifecycle-events',
    {
      schema: {
        tags: ['lifecycle events'],
        summary: "Start a person's joiner, mover or leaver: one provisioning job per target connection",
        headers: IdempotencyHeaders,
        body: CreateLifecycleEventSchema,
        response: {
          202: LifecycleEventSchema,
          400: ErrorSchema,
          409: ErrorSchema,
          422: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const tenantId = writeTenant(request);
      const key = request.headers['idempotency-key'];
      const requestHash = deps.secrets.fingerprint({ tenantId, lifecycleEvent: request.body });
      if (key) {
        const replay = await replayIdempotent(tenantId, key, requestHash);
        if (replay) return reply.status(202).send(replay);
      }
      const targets = await resolveTargets(tenantId, request.body);
      const event = await lifecycleEvents.create({
        id: randomUUID(),
        tenantId,
        kind: request.body.kind,
        person: request.body.person,
        targets,
        ...(key ? { idempotency: { key, requestHash } } : {}),
        actor: requestActor(request),
      });
      if (!event) {
        const replay = await replayIdempotent(tenantId, key!, requestHash);
        if (replay) return reply.status(202).send(replay);
        throw new ApiError(409, 'conflict', 'a request with this Idempotency-Key is in progress; retry');
      }
      await startEvent(event);
      return reply.status(202).send(eventView(event));
    },
  );

  /**
   * Each target's connection (the tenant's own: 422 naming the field otherwise), operation and input,
   * checked as POST /v1/connections/{id}/jobs checks them; every problem of every target in one answer.
   */
  async function resolveTargets(tenantId: string, body: CreateLifecycleEvent) {
    const ids = body.targets.map((t) => t.connectionId);
    const found = new Map((await lifecycleEvents.connectionsAmong(tenantId, ids)).map((c) => [c.id, c]));
    const unknown: Issue[] = [];
    const invalid: Issue[] = [];
    const unusable: Issue[] = [];
    const targets: NewLifecycleEvent['targets'] = [];
    body.targets.forEach((target, i) => {
      const at = `body.targets.${i}`;
      if (ids.indexOf(target.connectionId) !== i) {
        invalid.push({
          field: `${at}.connectionId`,
          message: 'a connection is a target of an event at most once',
        });
        return;
      }
      const connection = found.get(target.connectionId);
      if (!connection) {
        unknown.push({ field: `${at}.connectionId`, message: `no connection ${target.connectionId}` });
        return;
      }
      if (connection.status === 'revoked' || connection.status === 'revoking') {
        unusable.push({ field: `${at}.connectionId`, message: `the connection is ${connection.status}` });
        return;
      }
      const vendor = getVendor(connection.vendor);
      const operation = target.operation ?? defaultOperation(vendor, body.kind);
      const spec = vendor.operations?.find((o) => o.name === operation);
      if (!spec) {
        invalid.push({
          field: `${at}.operation`,
          message: missingOperation(vendor, operation, body.kind, target.operation),
        });
        return;
      }
      const parsed = spec.input.safeParse(targetInput(operation, body.person, target.input));
      if (!parsed.success) {
        invalid.push(
          ...parsed.error.issues.map((issue) => ({
            field: [at, 'input', ...issue.path.map(String)].join('.'),
            message: issue.message,
          })),
        );
        return;
      }
      targets.push({
        jobId: randomUUID(),
        connectionId: connection.id,
        vendor: vendor.id,
        operation,
        input: parsed.data as Record<string, unknown>,
      });
    });
    if (invalid.length) throw validationError(invalid);
    if (unknown.length) {
      throw new ApiError(
        422,
        'unknown_connection',
        unknown.map((i) => `${i.field}: ${i.message}`).join('; '),
        unknown,
      );
    }
    if (unusable.length) {
      throw new ApiError(
        409,
        'conflict',
        unusable.map((i) => `${i.field}: ${i.message}`).join('; '),
        unusable,
      );
    }
    return targets;
  }

  /** The earlier answer for a reused Idempotency-Key (its workflow started again if that failed). */
  async function replayIdempotent(tenantId: string, key: string, requestHash: string) {
    const existing = await lifecycleEvents.byIdempotencyKey(tenantId, key);
    if (!existing) return null;
    if (existing.requestHash !== requestHash) {
      throw new ApiError(
        409,
        'idempotency_key_reused',
        'this Idempotency-Key was used with a different request',
      );
    }
    await startEvent(existing);
    return eventView(existing);
  }

  async function startEvent(event: LifecycleEventRow): Promise<void> {
    const jobPolicy = {
      ...DEFAULT_JOB_POLICY,
      ...deps.jobs,
      webhookRetry: { ...DEFAULT_POLICY.webhookRetry, ...deps.policy.webhookRetry },
    };
    const lifecyclePolicy = { ...DEFAULT_LIFECYCLE_POLICY, ...deps.lifecycle };
    try {
      await deps.temporal.workflow.start<typeof lifecycleEvent>('lifecycleEvent', {
        taskQueue: deps.taskQueue,
        workflowId: lifecycleEventWorkflowId(event.id),
        args: [
          {
            eventId: event.id,
            tenantId: event.tenantId,
            targets: event.targets.map((t) => ({ jobId: t.jobId, vendor: t.job.vendor })),
            policy: targetJobPolicy(event.kind as LifecycleKind, jobPolicy, lifecyclePolicy),
          },
        ],
        // Idempotent: a running event is kept; a finished one is never started again.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [{ key: TENANT, value: event.tenantId }],
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw new ApiError(
        503,
        'temporal_unavailable',
        `the lifecycle event ${event.id} is stored, but its workflow could not be started; retry with the same Idempotency-Key`,
      );
    }
  }

  app.get(
    '/lifecycle-events/:id',
    {
      schema: {
        tags: ['lifecycle events'],
        summary: "A lifecycle event and each target's progress",
        params: IdParamsSchema,
        response: { 200: LifecycleEventSchema, 400: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request) => eventView(await lifecycleEvents.get(readScope(request), request.params.id)),
  );

  app.get(
    '/lifecycle-events',
    {
      schema: {
        tags: ['lifecycle events'],
        summary: "The tenant's lifecycle events, newest first, filtered by status and kind",
        querystring: LifecycleEventListQuerySchema,
        response: { 200: LifecycleEventListSchema, 400: ErrorSchema },
      },
    },
    async (request) => {
      const page = await lifecycleEvents.list(readScope(request), request.query);
      return { items: page.items.map(eventView), nextCursor: page.nextCursor };
    },
  );
};

function missingOperation(
  vendor: ReturnType<typeof getVendor>,
  operation: string,
  kind: LifecycleKind,
  named: string | undefined,
): string {
  const offered = (vendor.operations ?? []).map((o) => o.name);
  const offers = offered.length
    ? `${vendor.name} offers ${offered.join(', ')}`
    : `${vendor.name} offers no operations yet`;
  return named
    ? `${offers}`
    : `${vendor.name} has no ${operation} (the ${kind} default): name an operation; ${offers}`;
}

function eventView(event: LifecycleEventRow) {
  const targets = event.targets.map(({ job }) => ({
    connectionId: job.connectionId,
    vendor: job.vendor,
    operation: job.operation,
    jobId: job.id,
    status: job.status,
    done: FINISHED_JOB_STATUSES.includes(job.status),
    vendorId: job.vendorId,
    failure:
      job.failureReason !== null
        ? { reason: job.failureReason as JobFailureReason, message: job.failureMessage ?? '' }
        : null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  }));
  const count = (status: JobStatus) => targets.filter((t) => t.status === status).length;
  return {
    id: event.id,
    tenantId: event.tenantId,
    kind: event.kind as LifecycleKind,
    person: event.person as Record<string, unknown>,
    status: event.status,
    targets,
    progress: {
      total: targets.length,
      done: targets.filter((t) => t.done).length,
      succeeded: count('succeeded'),
      failed: count('failed'),
      cancelled: count('cancelled'),
    },
    createdAt: event.createdAt.toISOString(),
    updatedAt: event.updatedAt.toISOString(),
    completedAt: event.completedAt?.toISOString() ?? null,
    workflowId: lifecycleEventWorkflowId(event.id),
  };
}
