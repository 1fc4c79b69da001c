// zod schemas of the lifecycle event routes: the single source of their validation, types and OpenAPI.
import { z } from 'zod';
import { FINISHED_JOB_STATUSES, JOB_FAILURE_REASONS } from '../domain/jobs';
import { LIFECYCLE_EVENT_STATUSES, LIFECYCLE_KINDS } from '../domain/lifecycle-events';
import { JobStatusSchema } from './job-schemas';

/** Targets per event: one person's accounts, not a bulk import. */
export const MAX_TARGETS = 50;

const text = z.string().trim().min(1).max(256);

export const LifecyclePersonSchema = z
  .object({
    externalId: text
      .optional()
      .describe(
        "your id of the person (HR system): a joiner's users carry it, movers and leavers are found by it",
      ),
    userName: text
      .optional()
      .describe("the person's user name at the vendors (default for a joiner: the email)"),
    email: z.email().optional().describe("the person's work email: a joiner's primary email"),
  })
  .strict()
  .refine((p) => p.externalId !== undefined || p.userName !== undefined || p.email !== undefined, {
    message: 'name the person: externalId, userName or email',
  })
  .meta({ id: 'LifecyclePerson' });

const TargetSchema = z
  .object({
    connectionId: z.uuid().describe("one of the tenant's connections, at most once per event"),
    operation: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,63}$/, 'an operation name such as deactivate_user')
      .optional()
      .describe(
        "the connection's operation to run (GET /v1/connectors/{vendor}); default: the connector's lifecycleOperations for the kind (SCIM vendors: joiner create_user, mover update_user, leaver deactivate_user)",
      ),
    input: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "this target's attributes, as the operation's input: merged over what the person gives (userName, externalId, emails; user for update, deactivate, reactivate)",
      ),
  })
  .strict();

export const CreateLifecycleEventSchema = z
  .object({
    kind: z.enum(LIFECYCLE_KINDS),
    person: LifecyclePersonSchema,
    targets: z.array(TargetSchema).min(1).max(MAX_TARGETS),
  })
  .strict()
  .meta({ id: 'CreateLifecycleEvent' });

export type CreateLifecycleEvent = z.infer<typeof CreateLifecycleEventSchema>;

const TargetViewSchema = z.object({
  connectionId: z.uuid(),
  vendor: z.string(),
  operation: z.string(),
  jobId: z.uuid().describe('GET /v1/jobs/{id} for its input and result'),
  status: JobStatusSchema.describe("the target's job status"),
  done: z.boolean().describe(`its job ended (${FINISHED_JOB_STATUSES.join(', ')})`),
  vendorId: z.string().nullable(),
  failure: z.object({ reason: z.enum(JOB_FAILURE_REASONS), message: z.string() }).nullable(),
  finishedAt: z.string().nullable(),
});

export const LifecycleEventSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.string(),
    kind: z.enum(LIFECYCLE_KINDS),
    person: z.record(z.string(), z.unknown()),
    status: z
      .enum(LIFECYCLE_EVENT_STATUSES)
      .describe(
        'running until every target ended; then completed (all succeeded) or completed_with_failures',
      ),
    targets: z.array(TargetViewSchema),
    progress: z.object({
      total: z.number().int(),
      done: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      cancelled: z.number().int(),
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
    completedAt: z.string().nullable(),
    workflowId: z.string(),
  })
  .meta({ id: 'LifecycleEvent' });

export const LifecycleEventListSchema = z.object({
  items: z.array(LifecycleEventSchema),
  nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page'),
});

export const LifecycleEventListQuerySchema = z
  .object({
    status: z.enum(LIFECYCLE_EVENT_STATUSES).optional(),
    kind: z.enum(LIFECYCLE_KINDS).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(512).optional().describe("the previous page's nextCursor (opaque)"),
  })
  .strict();
