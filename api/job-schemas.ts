// zod schemas of the provisioning job routes: the single source of their validation, types and OpenAPI.
import { z } from 'zod';
import { vendors } from '../catalog';
import type { OperationSpec } from '../vendor-kit/definition';
import { JOB_FAILURE_REASONS, JOB_STATUSES } from '../domain/jobs';

export const JobStatusSchema = z.enum(JOB_STATUSES);

/** Every operation of the catalog once, by name (vendors that share an operation share its input). */
const operations = [
  ...new Map(
    vendors.flatMap((v) => v.operations ?? []).map((o): [string, OperationSpec] => [o.name, o]),
  ).values(),
];
const OperationNameSchema = z.enum(operations.map((o) => o.name) as [string, ...string[]]);

const createJobFor = (o: OperationSpec) =>
  z
    .object({ operation: z.literal(o.name).describe(o.summary), input: o.input })
    .strict()
    .meta({ id: `Job_${o.name}` });

/**
 * One branch per operation. Which operations a connection offers depends on its vendor
 * (GET /v1/connectors/{vendor}); the vendor's own schema validates the input again.
 */
export const CreateJobSchema = z
  .discriminatedUnion(
    'operation',
    operations.map(createJobFor) as [ReturnType<typeof createJobFor>, ...ReturnType<typeof createJobFor>[]],
  )
  .meta({ id: 'CreateJob' });

export const JobSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.string(),
    connectionId: z.uuid(),
    vendor: z.string(),
    operation: z.string(),
    input: z.record(z.string(), z.unknown()),
    status: JobStatusSchema,
    vendorId: z
      .string()
      .nullable()
      .describe("the vendor's id of the user made or changed (a find: the first match)"),
    result: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe('on success: vendorId, adopted (a create that found its user already made) and details'),
    failure: z
      .object({ reason: z.enum(JOB_FAILURE_REASONS), message: z.string() })
      .nullable()
      .describe('why it failed, for a person to act on'),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    workflowId: z.string(),
  })
  .meta({ id: 'Job' });

export const JobListSchema = z.object({
  items: z.array(JobSchema),
  nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page'),
});

export const JobListQuerySchema = z
  .object({
    status: JobStatusSchema.optional(),
    operation: OperationNameSchema.optional(),
    connectionId: z.uuid().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(512).optional().describe("the previous page's nextCursor (opaque)"),
  })
  .strict();

export const ConnectionJobListQuerySchema = JobListQuerySchema.omit({ connectionId: true });

/** The Idempotency-Key header of the routes that start work (jobs, lifecycle events). */
export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional(),
});
