// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
// `<id>.<timestamp>.<body>` with the endpoint's secret, sent as `webhook-signature: v1,<base64>`. While a
// rotated secret overlaps the new one, each secret signs: `v1,<new> v1,<old>` (space-separated, as the
// specification allows), so receivers verify with whichever secret they hold.
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

export function generateWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

export function webhookHeaders(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
) {
  const signatures = secrets.map((secret) => {
    const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
    return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
  });
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatures.join(' '),
  };
}
