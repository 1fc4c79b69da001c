// Persist one transition of the state machine: the connection row, its audit event and the webhook
// deliveries it causes, in one transaction (an outbox: a delivery is never lost nor sent for a
// transition that did not happen). The audit event's dedupe key (connection id + sequence) makes a
// retried activity a no-op instead of a duplicate.
import type { Db, Prisma } from '../platform/db';
import { queueWebhookDeliveries, type QueuedDeliveries } from '../platform/webhook-outbox';
import type { Transition } from '../domain/transition';
import { webhookEventFor } from '../domain/webhook-events';
import { recordRefusedDeliveries } from './webhook-delivery';

const date = (ms: number | null | undefined) =>
  ms === undefined ? undefined : ms === null ? null : new Date(ms);

export async function recordTransition(
  db: Db,
  {
    connectionId,
    tenantId,
    transition: t,
  }: { connectionId: string; tenantId: string; transition: Transition },
  pendingDeliveriesLimit: number,
): Promise<QueuedDeliveries> {
  return db.$transaction(async (tx) => {
    const inserted = await tx.auditEvent.createMany({
      data: [
        {
          connectionId,
          tenantId,
          type: t.event,
          fromStatus: t.from,
          toStatus: t.to,
          actor: 'workflow',
          dedupeKey: `${connectionId}:${t.seq}`,
          detail: {
            ...t.detail,
            ...(t.reason ? { reason: t.reason } : {}),
            ...(t.message ? { message: t.message } : {}),
          },
        },
      ],
      skipDuplicates: true,
    });
    // Already recorded by an earlier attempt: its deliveries were returned then, or are re-found here
    // (those stored failed over the quota stay so, their refusal recorded then).
    if (inserted.count === 0) {
      const earlier = await tx.webhookDelivery.findMany({
        where: { id: { startsWith: `evt_${connectionId}_${t.seq}_` }, status: 'pending' },
        select: { id: true },
      });
      return { queued: earlier.map((d) => d.id), refused: [] };
    }
    const p = t.patch;
    const connection = await tx.connection.update({
      where: { id: connectionId },
      data: {
        status: t.to,
        ...(t.reason !== undefined ? { statusReason: t.reason } : {}),
        ...(t.message !== undefined ? { statusMessage: t.message } : {}),
        tokenObtainedAt: date(p.tokenObtainedAt),
        tokenExpiresAt: date(p.tokenExpiresAt),
        credentialExpiresAt: date(p.credentialExpiresAt),
        lastCheckedAt: date(p.lastCheckAt),
        lastSuccessAt: date(p.lastSuccessAt),
        nextCheckAt: date(p.nextCheckAt),
        consecutiveFailures: p.consecutiveFailures,
        // Absent in transitions recorded before it was tracked: the stored value stays.
        failingSince: date(p.failingSince),
        ...(p.grantedScopes ? { grantedScopes: p.grantedScopes } : {}),
        ...(p.missingScopes ? { missingScopes: p.missingScopes as unknown as object[] } : {}),
        ...(p.missingOptionalScopes
          ? { missingOptional: p.missingOptionalScopes as unknown as object[] }
          : {}),
        ...(t.to === 'revoked'
          ? { revokedAt: new Date(), vendorRevocation: String(t.detail.vendorRevocation ?? 'unsupported') }
          : {}),
      },
    });

    const type = webhookEventFor(t);
    if (!type) return { queued: [], refused: [] };
    const outcome = await queueWebhookDeliveries(
      tx,
      {
        tenantId,
        connectionId,
        type,
        idPrefix: `evt_${connectionId}_${t.seq}_`,
        payload: {
          type,
          timestamp: new Date().toISOString(),
          data: {
            connectionId,
            tenantId,
            vendor: connection.vendor,
            name: connection.name,
            tags: connection.tags as Prisma.InputJsonObject,
            status: t.to,
            previousStatus: t.from,
            reason: connection.statusReason,
            message: connection.statusMessage,
            missingScopes: connection.missingScopes as Prisma.InputJsonArray,
            missingOptionalScopes: connection.missingOptional as Prisma.InputJsonArray,
          },
        },
      },
      pendingDeliveriesLimit,
    );
    await recordRefusedDeliveries(
      tx,
      { connectionId, tenantId, type },
      outcome.refused,
      pendingDeliveriesLimit,
    );
    return outcome;
  });
}
