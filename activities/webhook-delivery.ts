// Deliver one webhook event: sign (Standard Webhooks), POST through the same outbound guard as
// vendor calls (public https only), and let Temporal retry until the endpoint answers 2xx.
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../platform/db';
import type { SecretStore } from '../platform/secret-store';
import type { VendorHttp } from '../vendor-kit/vendor-http';
import { webhookHeaders } from '../platform/webhook-signing';

export async function deliverWebhook(
  deps: { db: Db; secrets: SecretStore; http: VendorHttp },
  deliveryId: string,
): Promise<{ status: number }> {
  const delivery = await deps.db.webhookDelivery.findUnique({
    where: { id: deliveryId },
    include: { endpoint: true },
  });
  if (!delivery || delivery.status === 'delivered') return { status: 0 };
  if (delivery.endpoint.disabledAt) {
    await deps.db.webhookDelivery.update({
      where: { id: deliveryId },
      data: { status: 'failed', lastError: 'endpoint disabled' },
    });
    return { status: 0 };
  }
  const body = JSON.stringify({ id: delivery.id, ...(delivery.payload as object) });
  const secret = deps.secrets.openWebhookSecret(delivery.endpoint);
  const headers = webhookHeaders(secret, delivery.id, Math.floor(Date.now() / 1000), body);
  let status: number;
  try {
    status = (await deps.http.send({ method: 'POST', url: delivery.endpoint.url, headers, jsonBody: body }))
      .status;
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
