// Activities of a lifecycle event's parent workflow: only its end is recorded here, since each target's
// progress is its job's row. Inputs and results carry ids and statuses only.
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Db, Prisma } from '../platform/db';
import type { JobStatus } from '../domain/jobs';
import { lifecycleOutcome, type LifecycleEventStatus } from '../domain/lifecycle-events';
import type { WebhookEventType } from '../domain/webhook-events';

const COMPLETED: WebhookEventType = 'lifecycle_event.completed';

export function createLifecycleActivities({ db }: { db: Db }) {
  return {
    /**
     * Record how the event ended, from its targets' jobs (all ended), and its lifecycle_event.completed
     * deliveries, in one transaction; a retried call finds what the first one wrote.
     */
    async finishLifecycleEvent({
      eventId,
    }: {
      eventId: string;
    }): Promise<{ status: LifecycleEventStatus; deliveries: string[] }> {
      return db.$transaction(async (tx) => {
        const event = await tx.lifecycleEvent.findUniqueOrThrow({
          where: { id: eventId },
          include: { targets: { include: { job: true }, orderBy: { position: 'asc' } } },
        });
        if (event.status !== 'running') {
          const earlier = await tx.webhookDelivery.findMany({
            where: { id: { startsWith: `evt_lifecycle_${eventId}_` } },
            select: { id: true },
          });
          return { status: event.status, deliveries: earlier.map((d) => d.id) };
        }
        const status = lifecycleOutcome(event.targets.map((t) => t.job.status as JobStatus));
        await tx.lifecycleEvent.update({ where: { id: eventId }, data: { status, completedAt: new Date() } });
        Context.current()
          .metricMeter.createCounter(
            'tether_lifecycle_events',
            'events',
            'Finished lifecycle events by outcome',
          )
          .add(1, { kind: event.kind, outcome: status });

        const endpoints = await tx.webhookEndpoint.findMany({
          where: {
            tenantId: event.tenantId,
            disabledAt: null,
            OR: [{ eventTypes: { isEmpty: true } }, { eventTypes: { has: COMPLETED } }],
          },
          select: { id: true },
        });
        // Ids and outcomes only: the person's attributes stay in the event's rows.
        const payload = {
          type: COMPLETED,
          timestamp: new Date().toISOString(),
          data: {
            lifecycleEventId: eventId,
            tenantId: event.tenantId,
            kind: event.kind,
            status,
            targets: event.targets.map(({ job }) => ({
              connectionId: job.connectionId,
              vendor: job.vendor,
              operation: job.operation,
              jobId: job.id,
              status: job.status,
              vendorId: job.vendorId,
              reason: job.failureReason,
            })),
          },
        } as unknown as Prisma.InputJsonObject;
        const deliveries = endpoints.map((endpoint) => ({
          id: `evt_lifecycle_${eventId}_${randomUUID().slice(0, 8)}`,
          endpointId: endpoint.id,
          tenantId: event.tenantId,
          type: COMPLETED,
          payload,
        }));
        if (deliveries.length > 0) await tx.webhookDelivery.createMany({ data: deliveries });
        return { status, deliveries: deliveries.map((d) => d.id) };
      });
    },
  };
}

export type LifecycleActivities = ReturnType<typeof createLifecycleActivities>;
