// Persist one transition of the state machine: the connection row, its audit event and the webhook
// deliveries it causes, in one transaction (an outbox: a delivery is never lost nor sent for a
// transition that did not happen). The audit event's dedupe key (connection id + sequence) makes a
// retried activity a no-op instead of a duplicate.
import { randomUUID } from 'node:crypto';
import type { Db } from '../platform/db';
import type { Transition } from '../domain/transition';
import { webhookEventFor } from '../domain/webhook-events';

const date = (ms: number | null | undefined) =>
  ms === undefined ? undefined : ms === null ? null : new Date(ms);

export async function recordTransition(
  db: Db,
  {
    connectionId,
    tenantId,
    transition: t,
  }: { connectionId: string; tenantId: string; transition: Transition },
): Promise<{ deliveries: string[] }> {
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
    // Already recorded by an earlier attempt: its deliveries were returned then, or are re-found here.
    if (inserted.count === 0) {
      const earlier = await tx.webhookDelivery.findMany({
        where: { id: { startsWith: `evt_${connectionId}_${t.seq}_` } },
        select: { id: true },
      });
      return { deliveries: earlier.map((d) => d.id) };
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
    if (!type) return { deliveries: [] };
    const endpoints = await tx.webhookEndpoint.findMany({
      where: {
        tenantId,
        disabledAt: null,
        OR: [{ eventTypes: { isEmpty: true } }, { eventTypes: { has: type } }],
      },
      select: { id: true },
    });
    const occurredAt = new Date().toISOString();
    const deliveries = endpoints.map((endpoint) => ({
      // Deterministic prefix per transition, so a retried activity finds what it created.
      id: `evt_${connectionId}_${t.seq}_${randomUUID().slice(0, 8)}`,
      endpointId: endpoint.id,
      tenantId,
      connectionId,
      type,
      payload: {
        type,
        timestamp: occurredAt,
        data: {
          connectionId,
          tenantId,
          vendor: connection.vendor,
          name: connection.name,
          tags: connection.tags,
          status: t.to,
          previousStatus: t.from,
          reason: connection.statusReason,
          message: connection.statusMessage,
          missingScopes: connection.missingScopes,
          missingOptionalScopes: connection.missingOptional,
        },
      },
    }));
    if (deliveries.length > 0) await tx.webhookDelivery.createMany({ data: deliveries });
    return { deliveries: deliveries.map((d) => d.id) };
  });
}
