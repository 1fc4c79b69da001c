// The webhook outbox: an event becomes one delivery row per endpoint of the tenant that takes its type,
// written in the transaction of what caused it. Past the tenant's pending deliveries quota an event is
// never dropped: its rows are stored `failed`, saying why, for GET …/deliveries and redelivery, and the
// caller records the refusal (audit event, metric).
import { randomUUID } from 'node:crypto';
import type { Prisma } from './db';
import { QUOTAS } from './config';
import { lockTenantQuota } from './quota-lock';

export interface OutboxEvent {
  tenantId: string;
  connectionId: string | null;
  type: string;
  /** Deterministic per cause, so a retried activity finds what it created (`<prefix><random>`). */
  idPrefix: string;
  payload: Prisma.InputJsonObject;
}

export interface QueuedDeliveries {
  /** To send now: each one a delivery workflow. */
  queued: string[];
  /** Stored failed: the tenant had `pendingLimit` deliveries pending. */
  refused: string[];
}

const overQuotaError = (limit: number) =>
  `not sent: the tenant had ${limit} deliveries pending (${QUOTAS.pendingDeliveries.variable}); redeliver it once they are through`;

export async function queueWebhookDeliveries(
  tx: Prisma.TransactionClient,
  event: OutboxEvent,
  pendingLimit: number,
): Promise<QueuedDeliveries> {
  const { tenantId, type } = event;
  const endpoints = await tx.webhookEndpoint.findMany({
    where: {
      tenantId,
      disabledAt: null,
      deletedAt: null,
      OR: [{ eventTypes: { isEmpty: true } }, { eventTypes: { has: type } }],
    },
    select: { id: true },
    orderBy: { createdAt: 'asc' },
  });
  if (endpoints.length === 0) return { queued: [], refused: [] };
  await lockTenantQuota(tx, 'pendingDeliveries', tenantId);
  const pending = await tx.webhookDelivery.count({ where: { tenantId, status: 'pending' } });
  const room = Math.max(0, pendingLimit - pending);
  const rows = endpoints.map((endpoint, i) => ({
    id: `${event.idPrefix}${randomUUID().slice(0, 8)}`,
    endpointId: endpoint.id,
    tenantId,
    connectionId: event.connectionId,
    type,
    payload: event.payload,
    ...(i < room ? {} : { status: 'failed', lastError: overQuotaError(pendingLimit) }),
  }));
  await tx.webhookDelivery.createMany({ data: rows });
  return {
    queued: rows.slice(0, room).map((r) => r.id),
    refused: rows.slice(room).map((r) => r.id),
  };
}
