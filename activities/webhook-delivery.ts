// Deliver one webhook event: sign (Standard Webhooks, with both secrets while a rotation overlaps), POST
// through the same outbound guard as vendor calls (public https only), and let Temporal retry until the
// endpoint answers 2xx.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Db, Prisma } from '../platform/db';
import type { SecretStore } from '../platform/secret-store';
import type { VendorHttp } from '../vendor-kit/vendor-http';
import { webhookHeaders } from '../platform/webhook-signing';
import { wipeExpiredWebhookSecrets } from '../platform/webhook-secrets';

export async function deliverWebhook(
  deps: { db: Db; secrets: SecretStore; http: VendorHttp },
  deliveryId: string,
): Promise<{ status: number }> {
  const delivery = await deps.db.webhookDelivery.findUnique({
    where: { id: deliveryId },
    include: { endpoint: true },
  });
  if (!delivery || delivery.status === 'delivered') return { status: 0 };
  const { endpoint } = delivery;
  if (endpoint.deletedAt || endpoint.disabledAt) {
    await deps.db.webhookDelivery.update({
      where: { id: deliveryId },
      data: { status: 'failed', lastError: endpoint.deletedAt ? 'endpoint deleted' : 'endpoint disabled' },
    });
    return { status: 0 };
  }
  const now = new Date();
  if (endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt <= now) {
    await wipeExpiredWebhookSecrets(deps.db, now, endpoint.id);
  }
  const body = JSON.stringify({ id: delivery.id, ...(delivery.payload as object) });
  const secrets = deps.secrets.openWebhookSigningSecrets(endpoint, now);
  const headers = webhookHeaders(secrets, delivery.id, Math.floor(now.getTime() / 1000), body);
  let status: number;
  try {
    status = (await deps.http.send({ method: 'POST', url: endpoint.url, headers, jsonBody: body })).status;
  } catch (err) {
    await recordAttempt(deps.db, deliveryId, (err as Error).message);
    throw ApplicationFailure.retryable(
      `webhook ${deliveryId} not delivered: ${(err as Error).message}`,
      'WebhookFailed',
    );
  }
  if (status < 200 || status >= 300) {
    await recordAttempt(deps.db, deliveryId, `HTTP ${status}`);
    throw ApplicationFailure.retryable(`webhook ${deliveryId} answered HTTP ${status}`, 'WebhookFailed');
  }
  await deps.db.webhookDelivery.update({
    where: { id: deliveryId },
    data: { status: 'delivered', deliveredAt: new Date(), attempts: { increment: 1 }, lastError: null },
  });
  return { status };
}

async function recordAttempt(db: Db, deliveryId: string, error: string) {
  await db.webhookDelivery.update({
    where: { id: deliveryId },
    data: { attempts: { increment: 1 }, lastError: error.slice(0, 300) },
  });
}

/** The connection's trail says which of its events were stored unsent over the pending deliveries quota. */
export async function recordRefusedDeliveries(
  tx: Prisma.TransactionClient,
  of: { connectionId: string; tenantId: string; type: string },
  refused: string[],
  limit: number,
): Promise<void> {
  if (refused.length === 0) return;
  await tx.auditEvent.create({
    data: {
      connectionId: of.connectionId,
      tenantId: of.tenantId,
      type: 'webhook_deliveries_refused',
      actor: 'workflow',
      detail: { eventType: of.type, deliveryIds: refused, pendingLimit: limit },
    },
  });
}

/** Worker metric `tether_webhook_deliveries_refused{type}`: events stored unsent over the quota. */
export function countRefusedDeliveries(type: string, count: number): void {
  if (count === 0) return;
  Context.current()
    .metricMeter.createCounter(
      'tether_webhook_deliveries_refused',
      'deliveries',
      'Webhook deliveries stored failed, unsent, because the tenant was at its pending deliveries quota',
    )
    .add(count, { type });
}
