// Which transitions customers hear about: the ones where a human may need to act, or can stop worrying.
import type { ConnectionEvent, Transition } from './transition';

export const WEBHOOK_EVENT_TYPES = [
  'connection.linked',
  'connection.insufficient_scopes',
  'connection.invalid_credentials',
  'connection.invalid_configuration',
  'connection.link_delayed',
  'connection.link_failed',
  'connection.needs_reauth',
  'connection.degraded',
  'connection.recovered',
  'connection.expiring',
  'connection.revoked',
  'job.succeeded',
  'job.failed',
  'lifecycle_event.completed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Events announced whatever the statuses on either side. */
const ANNOUNCED: Partial<Record<ConnectionEvent, WebhookEventType>> = {
  linked: 'connection.linked',
  recovered: 'connection.recovered',
  link_delayed: 'connection.link_delayed',
};

export function webhookEventFor(t: Transition): WebhookEventType | null {
  const announced = ANNOUNCED[t.event];
  if (announced) return announced;
  if (t.from === 'degraded' && (t.to === 'active' || t.to === 'expiring')) return 'connection.recovered';
  if (t.from === t.to) return null;
  switch (t.to) {
    case 'insufficient_scopes':
    case 'invalid_credentials':
    case 'invalid_configuration':
    case 'link_failed':
    case 'needs_reauth':
    case 'degraded':
    case 'expiring':
    case 'revoked':
      return `connection.${t.to}`;
    default:
      return null;
  }
}
