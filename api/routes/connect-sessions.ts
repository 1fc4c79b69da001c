// Connect sessions, behind the API key: the customer's backend creates one per end user who is to link (or
// reconnect) a vendor account, and sends that person's browser to the page URL it answers.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { vendors as catalog } from '../../catalog';
import type { ConnectSession } from '../../platform/db';
import type { AppDeps } from '../app';
import { readScope, writeTenant } from '../auth';
import { connectPageUrl } from '../connect/page-url';
import { checkReturnUrl, isAllowedReturnUrl } from '../connect/return-urls';
import {
  ConnectSessionCreatedSchema,
  ConnectSessionSchema,
  CreateConnectSessionSchema,
  ReturnUrlsSchema,
} from '../connect/schemas';
import { hashSessionToken, newSessionToken } from '../connect/session-token';
import { ApiError, validationError } from '../errors';
import type { TenantData } from '../tenant-data';
import { ErrorSchema, IdParamsSchema } from '../schemas';

const sessionFields = (s: ConnectSession) => ({
  id: s.id,
  mode: s.reconnect ? ('reconnect' as const) : ('link' as const),
  vendors: s.vendors,
  tags: s.tags as Record<string, string>,
  returnUrl: s.returnUrl,
  connectionId: s.connectionId,
  expiresAt: s.expiresAt.toISOString(),
});

export const connectSessionRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  const { connectSessions } = data;

  app.post(
    '/connect-sessions',
    {
      schema: {
        tags: ['connect'],
        summary:
          'Create a connect session: a short-lived link to the hosted connect page for one end user to link (or reconnect) one vendor account',
        body: CreateConnectSessionSchema,
        response: {
          201: ConnectSessionCreatedSchema,
          400: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const tenantId = writeTenant(request);
      const body = request.body;
      if (!deps.publicUrl) {
        throw new ApiError(
          503,
          'not_configured',
          'TETHER_PUBLIC_URL is not set, so the connect page has no address',
        );
      }
      let returnUrl: string | null = null;
      if (body.returnUrl !== undefined) {
        const checked = checkReturnUrl(body.returnUrl, deps.urlPolicy, 'session');
        if ('error' in checked) throw validationError([{ field: 'body.returnUrl', message: checked.error }]);
        if (!isAllowedReturnUrl(checked.url, await connectSessions.returnUrls.list(tenantId))) {
          throw validationError([
            {
              field: 'body.returnUrl',
              message: "not in this tenant's return URL allowlist (PUT /v1/connect-return-urls)",
            },
          ]);
        }
        returnUrl = checked.url;
      }
      let vendors = body.vendors ?? null;
      if (body.connectionId) {
        const connection = await data.connections.get(tenantId, body.connectionId);
        if (connection.status === 'revoked' || connection.status === 'revoking') {
          throw new ApiError(409, 'conflict', `connection is ${connection.status}`);
        }
        if (vendors && !vendors.includes(connection.vendor)) {
          throw validationError([
            { field: 'body.vendors', message: `the connection is ${connection.vendor}` },
          ]);
        }
        if (body.tags) {
          throw validationError([{ field: 'body.tags', message: 'a reconnect keeps the connection’s tags' }]);
        }
        vendors = [connection.vendor];
      }
      const token = newSessionToken();
      const session = await connectSessions.create({
        id: randomUUID(),
        tenantId,
        tokenHash: hashSessionToken(token),
        vendors: [...new Set(vendors ?? catalog.map((v) => v.id))],
        tags: body.tags ?? {},
        returnUrl,
        connectionId: body.connectionId ?? null,
        expiresAt: new Date(Date.now() + body.expiresInMinutes * 60_000),
      });
      return reply
        .status(201)
        .send({ ...sessionFields(session), token, url: connectPageUrl(deps.publicUrl, session.id, token) });
    },
  );

  app.get(
    '/connect-sessions/:id',
    {
      schema: {
        tags: ['connect'],
        summary: 'A connect session: open, completed (with the outcome the page reported) or expired',
        params: IdParamsSchema,
        response: { 200: ConnectSessionSchema, 400: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      const session = await connectSessions.get(readScope(request), request.params.id);
      return {
        ...sessionFields(session),
        state: session.completedAt
          ? ('completed' as const)
          : session.expiresAt <= new Date()
            ? ('expired' as const)
            : ('open' as const),
        outcome: session.outcome,
        completedAt: session.completedAt?.toISOString() ?? null,
        createdAt: session.createdAt.toISOString(),
      };
    },
  );

  app.delete(
    '/connect-sessions/:id',
    {
      schema: {
        tags: ['connect'],
        summary: 'End a connect session now: its token stops working (a connection it created stays)',
        params: IdParamsSchema,
        response: { 204: z.null(), 400: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const session = await connectSessions.get(readScope(request), request.params.id);
      await connectSessions.end(session.id, 'cancelled');
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/connect-return-urls',
    {
      schema: {
        tags: ['connect'],
        summary: "The tenant's return URL allowlist for connect sessions",
        response: { 200: ReturnUrlsSchema, 400: ErrorSchema },
      },
    },
    async (request) => {
      const tenantId = writeTenant(request);
      return { urls: await connectSessions.returnUrls.list(tenantId) };
    },
  );

  app.put(
    '/connect-return-urls',
    {
      schema: {
        tags: ['connect'],
        summary: "Replace the tenant's return URL allowlist for connect sessions",
        body: ReturnUrlsSchema,
        response: { 200: ReturnUrlsSchema, 400: ErrorSchema },
      },
    },
    async (request) => {
      const tenantId = writeTenant(request);
      const issues: { field: string; message: string }[] = [];
      const urls = request.body.urls.map((raw, i) => {
        const checked = checkReturnUrl(raw, deps.urlPolicy, 'entry');
        if ('error' in checked) issues.push({ field: `body.urls.${i}`, message: checked.error });
        return 'url' in checked ? checked.url : raw;
      });
      if (issues.length > 0) throw validationError(issues);
      const unique = [...new Set(urls)].sort();
      await connectSessions.returnUrls.replace(tenantId, unique);
      return { urls: unique };
    },
  );
};
