// Webhook endpoints per tenant. The signing secret is shown only in the answers of create and
// rotate-secret, and stored sealed; rows are read and written through api/tenant-data.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { WebhookDelivery, WebhookEndpoint } from '../../platform/db';
import { generateWebhookSecret } from '../../platform/webhook-signing';
import { WEBHOOK_EVENT_TYPES } from '../../domain/webhook-events';
import { DEFAULT_POLICY } from '../../domain/policy';
import { checkInstanceUrl } from '../../vendor-kit/url-policy';
import { webhookDeliveryWorkflowId } from '../../workflows/ids';
import type { webhookDelivery } from '../../workflows/webhook-delivery';
import type { AppDeps } from '../app';
import { readScope, writeTenant } from '../auth';
import { ApiError, validationError } from '../errors';
import { ErrorSchema, IdParamsSchema } from '../schemas';
import type { TenantData } from '../tenant-data';
import { DELIVERY_ID } from '../tenant-data/webhooks';

/** The event a test ping sends, whatever the endpoint's eventTypes. */
const PING_EVENT = 'webhook.ping';
const DAY_SECONDS = 86_400;

const url = z.string().trim().min(1).max(2048).describe('https URL that receives POSTed events');
const eventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .max(WEBHOOK_EVENT_TYPES.length)
  .describe('events to deliver; all when empty or omitted');
const description = z.string().trim().max(500).describe('free text for people, e.g. who owns the receiver');

const CreateWebhookSchema = z
  .object({ url, eventTypes: eventTypes.optional(), description: description.optional() })
  .strict();

const UpdateWebhookSchema = z
  .object({
    url: url.optional(),
    eventTypes: eventTypes.optional().describe('replaces the list; [] delivers every event'),
    description: description.nullable().optional().describe('null removes it'),
    enabled: z
      .boolean()
      .optional()
      .describe('false: new events skip this endpoint and pending ones fail as "endpoint disabled"'),
  })
  .strict();

const RotateSecretSchema = z
  .object({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * DAY_SECONDS)
      .default(DAY_SECONDS)
      .describe(
        'how long the replaced secret keeps signing next to the new one (default 24 h); 0 wipes it now (a leaked secret)',
      ),
  })
  .strict();

const WebhookSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.string(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    description: z.string().nullable(),
    enabled: z.boolean(),
    createdAt: z.string(),
    disabledAt: z.string().nullable(),
    previousSecretExpiresAt: z
      .string()
      .nullable()
      .describe('while a rotated secret still signs (next to the current one): until when'),
  })
  .meta({ id: 'WebhookEndpoint' });
const WithSecretSchema = WebhookSchema.extend({
  secret: z.string().describe('the signing secret (whsec_…), shown only in this answer'),
});

const DeliverySchema = z
  .object({
    id: z.string().describe('the event id: de-duplicate on it (also sent as webhook-id)'),
    endpointId: z.uuid(),
    type: z.string(),
    connectionId: z.string().nullable(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

const limit = z.coerce.number().int().min(1).max(200).default(50);
const cursor = z.string().max(512).optional().describe("the previous page's nextCursor");
const nextCursor = z
  .string()
  .nullable()
  .describe('pass as ?cursor= for the next page; null on the last page');
const ListQuerySchema = z.object({ limit, cursor }).strict();
const DeliveryListQuerySchema = z
  .object({ status: z.enum(['pending', 'delivered', 'failed']).optional(), limit, cursor })
  .strict();
const DeliveryParams = IdParamsSchema.extend({ deliveryId: DELIVERY_ID });

const errors = { 400: ErrorSchema, 404: ErrorSchema };
const writeErrors = { ...errors, 409: ErrorSchema, 503: ErrorSchema };

const endpointView = (w: WebhookEndpoint, now = new Date()) => ({
  id: w.id,
  tenantId: w.tenantId,
  url: w.url,
  eventTypes: w.eventTypes,
  description: w.description,
  enabled: w.disabledAt === null,
  createdAt: w.createdAt.toISOString(),
  disabledAt: w.disabledAt?.toISOString() ?? null,
  previousSecretExpiresAt:
    w.previousSecretExpiresAt && w.previousSecretExpiresAt > now
      ? w.previousSecretExpiresAt.toISOString()
      : null,
});

const deliveryView = (d: WebhookDelivery) => ({
  id: d.id,
  endpointId: d.endpointId,
  type: d.type,
  connectionId: d.connectionId,
  status: d.status as 'pending' | 'delivered' | 'failed',
  attempts: d.attempts,
  lastError: d.lastError,
  createdAt: d.createdAt.toISOString(),
  deliveredAt: d.deliveredAt?.toISOString() ?? null,
});

export const webhookRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  const { webhooks } = data;

  const checkedUrl = (raw: string) => {
    const checked = checkInstanceUrl(raw, deps.urlPolicy);
    if ('error' in checked) throw validationError([{ field: 'body.url', message: checked.error }]);
    return checked.url;
  };

  /** Run the delivery's workflow; if Temporal does not take it, the delivery is failed (redeliverable) and 503. */
  async function send(delivery: WebhookDelivery): Promise<void> {
    try {
      await deps.temporal.workflow.start<typeof webhookDelivery>('webhookDelivery', {
        taskQueue: deps.taskQueue,
        workflowId: webhookDeliveryWorkflowId(delivery.id),
        args: [
          { deliveryId: delivery.id, retry: { ...DEFAULT_POLICY.webhookRetry, ...deps.policy.webhookRetry } },
        ],
        // A run still open (it cannot be: the delivery was not pending) is kept rather than doubled.
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    } catch {
      await webhooks.deliveries.notStarted(delivery.id, 'not sent: Temporal was unavailable; redeliver it');
      throw new ApiError(
        503,
        'temporal_unavailable',
        `delivery ${delivery.id} could not be started; redeliver it later`,
      );
    }
  }

  const enabledOnly = (endpoint: WebhookEndpoint) => {
    if (endpoint.disabledAt) {
      throw new ApiError(
        409,
        'conflict',
        `webhook ${endpoint.id} is disabled: PATCH {"enabled": true} first`,
      );
    }
  };

  app.post(
    '/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Register an endpoint; the answer carries its signing secret, shown only this once',
        body: CreateWebhookSchema,
        response: { 201: WithSecretSchema, 400: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (request, reply) => {
      const tenantId = writeTenant(request);
      const id = randomUUID();
      const secret = generateWebhookSecret();
      const endpoint = await webhooks.create({
        id,
        tenantId,
        url: checkedUrl(request.body.url),
        eventTypes: request.body.eventTypes ?? [],
        description: request.body.description ?? null,
        secret: deps.secrets.sealWebhookSecret(id, secret),
      });
      return reply.status(201).send({ ...endpointView(endpoint), secret });
    },
  );

  app.get(
    '/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: "The tenant's endpoints, newest first",
        querystring: ListQuerySchema,
        response: { 200: z.object({ items: z.array(WebhookSchema), nextCursor }), 400: ErrorSchema },
      },
    },
    async (request) => {
      const listed = await webhooks.list(readScope(request), request.query);
      return { items: listed.items.map((w) => endpointView(w)), nextCursor: listed.nextCursor };
    },
  );

  app.get(
    '/webhooks/:id',
    { schema: { tags: ['webhooks'], params: IdParamsSchema, response: { 200: WebhookSchema, ...errors } } },
    async (request) => endpointView(await webhooks.get(readScope(request), request.params.id)),
  );

  app.patch(
    '/webhooks/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Change the URL, event types, description, or disable and enable again; the secret stays',
        params: IdParamsSchema,
        body: UpdateWebhookSchema,
        response: { 200: WebhookSchema, ...errors },
      },
    },
    async (request) => {
      const endpoint = await webhooks.get(readScope(request), request.params.id);
      const { url: newUrl, ...change } = request.body;
      const updated = await webhooks.update(endpoint, {
        ...change,
        ...(newUrl !== undefined ? { url: checkedUrl(newUrl) } : {}),
      });
      return endpointView(updated);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      schema: {
        tags: ['webhooks'],
        summary:
          'New signing secret, shown only in this answer; the replaced one keeps signing next to it for overlapSeconds, then is wiped',
        params: IdParamsSchema,
        // No body at all (Fastify passes null) takes the defaults.
        body: RotateSecretSchema.nullish(),
        response: { 200: WithSecretSchema, ...writeErrors },
      },
    },
    async (request) => {
      const endpoint = await webhooks.get(readScope(request), request.params.id);
      const overlapSeconds = request.body?.overlapSeconds ?? DAY_SECONDS;
      const secret = generateWebhookSecret();
      const rotated = await webhooks.rotateSecret(
        endpoint,
        deps.secrets.sealWebhookSecret(endpoint.id, secret),
        overlapSeconds > 0 ? new Date(Date.now() + overlapSeconds * 1000) : null,
      );
      return { ...endpointView(rotated), secret };
    },
  );

  app.post(
    '/webhooks/:id/test',
    {
      schema: {
        tags: ['webhooks'],
        summary: `Send a signed ${PING_EVENT} event now; follow it at …/deliveries/{deliveryId}`,
        params: IdParamsSchema,
        response: { 202: DeliverySchema, ...writeErrors },
      },
    },
    async (request, reply) => {
      const endpoint = await webhooks.get(readScope(request), request.params.id);
      enabledOnly(endpoint);
      const delivery = await webhooks.deliveries.create(endpoint, {
        id: `evt_ping_${randomUUID()}`,
        type: PING_EVENT,
        payload: {
          type: PING_EVENT,
          timestamp: new Date().toISOString(),
          data: { endpointId: endpoint.id, tenantId: endpoint.tenantId },
        },
      });
      await send(delivery);
      return reply.status(202).send(deliveryView(delivery));
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary:
          'Events sent (or being sent) to this endpoint, newest first; filter failed ones to redeliver them',
        params: IdParamsSchema,
        querystring: DeliveryListQuerySchema,
        response: { 200: z.object({ items: z.array(DeliverySchema), nextCursor }), ...errors },
      },
    },
    async (request) => {
      const endpoint = await webhooks.get(readScope(request), request.params.id);
      const listed = await webhooks.deliveries.list(endpoint, request.query);
      return { items: listed.items.map(deliveryView), nextCursor: listed.nextCursor };
    },
  );

  app.get(
    '/webhooks/:id/deliveries/:deliveryId',
    { schema: { tags: ['webhooks'], params: DeliveryParams, response: { 200: DeliverySchema, ...errors } } },
    async (request) => {
      const endpoint = await webhooks.get(readScope(request), request.params.id);
      return deliveryView(await webhooks.deliveries.get(endpoint, request.params.deliveryId));
    },
  );

  app.post(
    '/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Send a failed delivery again, with the same event id (webhook-id) and body, freshly signed',
        params: DeliveryParams,
        response: { 202: DeliverySchema, ...writeErrors },
      },
    },
    async (request, reply) => {
      const endpoint = await webhooks.get(readScope(request), request.params.id);
      enabledOnly(endpoint);
      const delivery = await webhooks.deliveries.get(endpoint, request.params.deliveryId);
      const requeued = await webhooks.deliveries.requeue(delivery);
      await send(requeued);
      return reply.status(202).send(deliveryView(requeued));
    },
  );

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Delete the endpoint: nothing more is delivered, its secrets are wiped',
        params: IdParamsSchema,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await webhooks.remove(await webhooks.get(readScope(request), request.params.id));
      return reply.status(204).send(null);
    },
  );
};
