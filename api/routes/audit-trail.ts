// A connection's audit trail: newest first, paged both ways by cursors, filtered by event type. Every
// event names its actor: the API key (id and name) that sent a command, the workflow, or an operator
// command.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { auditEventView } from '../audit-event-view';
import { readScope } from '../auth';
import { ErrorSchema, EventPageSchema, EventsQuerySchema, IdParamsSchema } from '../schemas';
import type { TenantData } from '../tenant-data';

export const auditTrailRoutes: FastifyPluginAsyncZod<{ data: TenantData }> = async (app, { data }) => {
  app.get(
    '/connections/:id/events',
    {
      schema: {
        tags: ['connections'],
        summary:
          'The audit trail of a connection, newest first; ?before= / ?after= page it, ?type= filters it',
        params: IdParamsSchema,
        querystring: EventsQuerySchema,
        response: { 200: EventPageSchema, 400: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      const connection = await data.connections.get(readScope(request), request.params.id);
      const { limit, before, after, type } = request.query;
      const page = await data.audit.page(connection, { limit, before, after, types: type });
      return { ...page, items: page.items.map(auditEventView) };
    },
  );
};
