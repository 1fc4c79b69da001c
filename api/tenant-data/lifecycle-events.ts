// Lifecycle events as the API reads and writes them, scoped to the caller's tenant. An event's targets
// are its jobs: one transaction stores the event, its jobs and their audit events on each connection.
import { Prisma, type Db } from '../../platform/db';
import type { LifecycleEventStatus, LifecycleKind } from '../../domain/lifecycle-events';
import { actorColumns, type Actor } from '../../domain/audit-events';
import { ApiError } from '../errors';
import { newestFirstPage } from './page-cursor';
import { inScope, type TenantScope } from './tenant-scope';

export interface NewLifecycleEvent {
  id: string;
  tenantId: string;
  kind: LifecycleKind;
  person: Record<string, unknown>;
  targets: {
    jobId: string;
    connectionId: string;
    vendor: string;
    operation: string;
    input: Record<string, unknown>;
  }[];
  idempotency?: { key: string; requestHash: string };
  actor: Actor;
}

export interface LifecycleEventFilter {
  status?: LifecycleEventStatus;
  kind?: LifecycleKind;
  limit: number;
  cursor?: string;
}

const withTargets = {
  targets: { include: { job: true }, orderBy: { position: 'asc' } },
} satisfies Prisma.LifecycleEventInclude;

export type LifecycleEventRow = Prisma.LifecycleEventGetPayload<{ include: typeof withTargets }>;

export function lifecycleEventData(db: Db) {
  return {
    async get(scope: TenantScope, id: string): Promise<LifecycleEventRow> {
      const event = await db.lifecycleEvent.findFirst({
        where: { id, ...inScope(scope) },
        include: withTargets,
      });
      if (!event) throw new ApiError(404, 'not_found', `no lifecycle event ${id}`);
      return event;
    },

    /** Newest first; each page continues strictly after the previous page's last row. */
    async list(scope: TenantScope, { status, kind, limit, cursor }: LifecycleEventFilter) {
      return newestFirstPage(scope, { limit, cursor }, (page) =>
        db.lifecycleEvent.findMany({
          where: {
            ...inScope(scope),
            ...(status ? { status } : {}),
            ...(kind ? { kind } : {}),
            ...page.after,
          },
          include: withTargets,
          orderBy: page.orderBy,
          take: page.take,
        }),
      );
    },

    /** The tenant's connections among `ids` (others' and unknown ones are simply absent). */
    connectionsAmong(tenantId: string, ids: string[]) {
      return db.connection.findMany({ where: { tenantId, id: { in: ids } } });
    },

    /** Store the event, its jobs and their audit events; null when a concurrent request with its Idempotency-Key won. */
    async create(event: NewLifecycleEvent): Promise<LifecycleEventRow | null> {
      const { idempotency, actor, targets, ...fields } = event;
      try {
        return await db.$transaction(async (tx) => {
          await tx.lifecycleEvent.create({
            data: {
              ...fields,
              person: fields.person as Prisma.InputJsonObject,
              ...(idempotency
                ? { idempotencyKey: idempotency.key, requestHash: idempotency.requestHash }
                : {}),
            },
          });
          await tx.job.createMany({
            data: targets.map((t) => ({
              id: t.jobId,
              tenantId: event.tenantId,
              connectionId: t.connectionId,
              vendor: t.vendor,
              operation: t.operation,
              input: t.input as Prisma.InputJsonObject,
            })),
          });
          await tx.lifecycleTarget.createMany({
            data: targets.map((t, position) => ({
              eventId: event.id,
              position,
              connectionId: t.connectionId,
              jobId: t.jobId,
            })),
          });
          await tx.auditEvent.createMany({
            data: targets.map((t) => ({
              connectionId: t.connectionId,
              tenantId: event.tenantId,
              type: 'job_requested',
              ...actorColumns(actor),
              detail: {
                jobId: t.jobId,
                operation: t.operation,
                lifecycleEventId: event.id,
                kind: event.kind,
              },
            })),
          });
          return tx.lifecycleEvent.findUniqueOrThrow({ where: { id: event.id }, include: withTargets });
        });
      } catch (err) {
        if (idempotency && err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
          return null;
        }
        throw err;
      }
    },

    /** The event an Idempotency-Key of the tenant was first used for, if it was. */
    byIdempotencyKey(tenantId: string, key: string) {
      return db.lifecycleEvent.findUnique({
        where: { tenantId_idempotencyKey: { tenantId, idempotencyKey: key } },
        include: withTargets,
      });
    },
  };
}
