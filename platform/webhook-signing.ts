// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
// `<id>.<timestamp>.<body>` with the endpoint's secret, sent as `webhook-signature: v1,<base64>`.
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

export function generateWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

export function webhookHeaders(secret: string, id: string, timestampSeconds: number, body: string) {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${signature}`,
  };
}
