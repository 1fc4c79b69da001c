// Webhook endpoints per tenant. The signing secret is shown once, at creation, and stored sealed.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../../domain/webhook-events';
import { checkInstanceUrl } from '../../vendor-kit/url-policy';
import { generateWebhookSecret } from '../../platform/webhook-signing';
import type { AppDeps } from '../app';
import { readScope, writeTenant } from '../auth';
import { ApiError, validationError } from '../errors';
import { ErrorSchema } from '../schemas';

const CreateWebhookSchema = z
  .object({
    url: z.string().trim().min(1).max(2048).describe('https URL that receives POSTed events'),
    eventTypes: z
      .array(z.enum(WEBHOOK_EVENT_TYPES))
      .max(WEBHOOK_EVENT_TYPES.length)
      .optional()
      .describe('events to deliver; all when omitted'),
  })
  .strict();

const WebhookSchema = z.object({
  id: z.uuid(),
  tenantId: z.string(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  createdAt: z.string(),
  disabledAt: z.string().nullable(),
});

const DeliverySchema = z.object({
  id: z.string().describe('the event id: de-duplicate on it (also sent as webhook-id)'),
  type: z.string(),
  connectionId: z.string().nullable(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});

const IdParams = z.object({ id: z.uuid() });
const errors = { 400: ErrorSchema, 404: ErrorSchema };

export const webhookRoutes: FastifyPluginAsyncZod<{ deps: AppDeps }> = async (app, { deps }) => {
  const { db } = deps;
  const view = (w: {
    id: string;
    tenantId: string;
    url: string;
    eventTypes: string[];
    createdAt: Date;
    disabledAt: Date | null;
  }) => ({
    id: w.id,
    tenantId: w.tenantId,
    url: w.url,
    eventTypes: w.eventTypes,
    createdAt: w.createdAt.toISOString(),
    disabledAt: w.disabledAt?.toISOString() ?? null,
  });
  const load = async (id: string, tenantId: string | null) => {
    const endpoint = await db.webhookEndpoint.findFirst({ where: { id, ...(tenantId ? { tenantId } : {}) } });
    if (!endpoint) throw new ApiError(404, 'not_found', `no webhook ${id}`);
    return endpoint;
  };

  app.post(
    '/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Register an endpoint; the answer carries its signing secret, shown only this once',
        body: CreateWebhookSchema,
        response: { 201: WebhookSchema.extend({ secret: z.string() }), ...errors },
      },
    },
    async (request, reply) => {
      const tenantId = writeTenant(request);
      const checked = checkInstanceUrl(request.body.url, deps.urlPolicy);
      if ('error' in checked) throw validationError([{ field: 'body.url', message: checked.error }]);
      const id = randomUUID();
      const secret = generateWebhookSecret();
      await db.tenant.upsert({
        where: { id: tenantId },
        create: { id: tenantId, name: tenantId },
        update: {},
      });
      const endpoint = await db.webhookEndpoint.create({
        data: {
          id,
          tenantId,
          url: checked.url,
          eventTypes: request.body.eventTypes ?? [],
          ...deps.secrets.sealWebhookSecret(id, secret),
        },
      });
      return reply.status(201).send({ ...view(endpoint), secret });
    },
  );

  app.get(
    '/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        response: { 200: z.object({ items: z.array(WebhookSchema) }), ...errors },
      },
    },
    async (request) => {
      const tenantId = readScope(request);
      const endpoints = await db.webhookEndpoint.findMany({
        where: tenantId ? { tenantId } : {},
        orderBy: { createdAt: 'asc' },
      });
      return { items: endpoints.map(view) };
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Recent events sent to this endpoint, newest first (failed ones can be fetched here)',
        params: IdParams,
        response: { 200: z.object({ items: z.array(DeliverySchema) }), ...errors },
      },
    },
    async (request) => {
      const endpoint = await load(request.params.id, readScope(request));
      const deliveries = await db.webhookDelivery.findMany({
        where: { endpointId: endpoint.id },
        orderBy: { createdAt: 'desc' },
        take: 200,
      });
      return {
        items: deliveries.map((d) => ({
          id: d.id,
          type: d.type,
          connectionId: d.connectionId,
          status: d.status as 'pending' | 'delivered' | 'failed',
          attempts: d.attempts,
          lastError: d.lastError,
          createdAt: d.createdAt.toISOString(),
          deliveredAt: d.deliveredAt?.toISOString() ?? null,
        })),
      };
    },
  );

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Stop delivering to this endpoint',
        params: IdParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const endpoint = await load(request.params.id, readScope(request));
      await db.webhookEndpoint.update({
        where: { id: endpoint.id },
        data: { disabledAt: endpoint.disabledAt ?? new Date() },
      });
      return reply.status(204).send(null);
    },
  );
};
