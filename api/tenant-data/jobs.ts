// Provisioning jobs as the API reads and writes them, scoped to the caller's tenant like connections.
import { Prisma, type Db, type Job } from '../../platform/db';
import type { Quotas } from '../../platform/config';
import { FINISHED_JOB_STATUSES, type JobStatus } from '../../domain/jobs';
import { actorColumns, type Actor } from '../../domain/audit-events';
import { ApiError } from '../errors';
import { newestFirstPage } from './page-cursor';
import { enforceQuota } from './quota';
import { inScope, type TenantScope } from './tenant-scope';

export interface NewJob {
  id: string;
  tenantId: string;
  connectionId: string;
  vendor: string;
  operation: string;
  input: Record<string, unknown>;
  idempotency?: { key: string; requestHash: string };
  /** Who asked, for the job's audit event. */
  actor: Actor;
}

export interface JobFilter {
  connectionId?: string;
  status?: JobStatus;
  operation?: string;
  limit: number;
  cursor?: string;
}

export function jobData(db: Db, quotas: Quotas) {
  return {
    async get(scope: TenantScope, id: string): Promise<Job> {
      const job = await db.job.findFirst({ where: { id, ...inScope(scope) } });
      if (!job) throw new ApiError(404, 'not_found', `no job ${id}`);
      return job;
    },

    /** Newest first; each page continues strictly after the previous page's last row. */
    async list(scope: TenantScope, { connectionId, status, operation, limit, cursor }: JobFilter) {
      return newestFirstPage(scope, { limit, cursor }, (page) =>
        db.job.findMany({
          where: {
            ...inScope(scope),
            ...(connectionId ? { connectionId } : {}),
            ...(status ? { status } : {}),
            ...(operation ? { operation } : {}),
            ...page.after,
          },
          orderBy: page.orderBy,
          take: page.take,
        }),
      );
    },

    /**
     * Store a new job with its audit event, within the tenant's quota of unfinished jobs; null when a
     * concurrent request with its Idempotency-Key won.
     */
    async create(job: NewJob): Promise<Job | null> {
      const { idempotency, actor, ...fields } = job;
      try {
        return await db.$transaction(async (tx) => {
          await enforceQuota(tx, 'jobs', quotas.jobs, job.tenantId, () =>
            tx.job.count({
              where: { tenantId: job.tenantId, status: { notIn: [...FINISHED_JOB_STATUSES] } },
            }),
          );
          const created = await tx.job.create({
            data: {
              ...fields,
              input: fields.input as Prisma.InputJsonObject,
              ...(idempotency
                ? { idempotencyKey: idempotency.key, requestHash: idempotency.requestHash }
                : {}),
            },
          });
          await tx.auditEvent.create({
            data: {
              connectionId: job.connectionId,
              tenantId: job.tenantId,
              type: 'job_requested',
              ...actorColumns(actor),
              detail: { jobId: job.id, operation: job.operation },
            },
          });
          return created;
        });
      } catch (err) {
        if (idempotency && err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
          return null;
        }
        throw err;
      }
    },

    /** The job an Idempotency-Key of the tenant was first used for, if it was. */
    byIdempotencyKey(tenantId: string, key: string) {
      return db.job.findUnique({ where: { tenantId_idempotencyKey: { tenantId, idempotencyKey: key } } });
    },
  };
}
