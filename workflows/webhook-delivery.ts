// One webhook event to one endpoint, retried durably with backoff: the customer gets it at least
// once (de-duplicating on the event id), or it is marked failed and kept.
import { proxyActivities } from '@temporalio/workflow';
import type { ConnectionActivities } from '../activities';

export interface WebhookDeliveryInput {
  deliveryId: string;
  retry: { initialIntervalMs: number; maximumIntervalMs: number; maximumAttempts: number };
}

export async function webhookDelivery({ deliveryId, retry }: WebhookDeliveryInput): Promise<void> {
  const { deliverWebhook } = proxyActivities<ConnectionActivities>({
    startToCloseTimeout: '30s',
    // Heartbeats come from worker/heartbeat.ts: a crashed worker's attempt is retried after 10 s.
    heartbeatTimeout: '10s',
    retry: {
      initialInterval: retry.initialIntervalMs,
      maximumInterval: retry.maximumIntervalMs,
      backoffCoefficient: 2,
      maximumAttempts: retry.maximumAttempts,
    },
  });
  const { markWebhookFailed } = proxyActivities<ConnectionActivities>({
    startToCloseTimeout: '20s',
    heartbeatTimeout: '10s',
    retry: { maximumInterval: '30s' },
  });
  try {
    await deliverWebhook({ deliveryId });
  } catch {
    await markWebhookFailed({ deliveryId });
  }
}
