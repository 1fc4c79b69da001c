// The hosted connect page and its own small API. The page (GET /connect/:sessionId) is static: one HTML
// shell, one script, one stylesheet, under a Content-Security-Policy that allows nothing but this origin.
// Its API (/connect/api/*) takes the session token instead of an API key and acts only on the session's
// one connection: no route here takes a connection id, so there is no other connection to name.
import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findVendor, vendors } from '../../catalog';
import type { ConnectSession } from '../../platform/db';
import { loadConnectPageAssets } from '../connect-page/assets';
import type { AppDeps } from '../app';
import { commandUnderWay } from '../connect/command-under-way';
import { actionPending, connectProgress } from '../connect/outcome';
import { CONNECT_PAGE_PREFIX } from '../connect/page-url';
import {
  ConnectAttemptSchema,
  ConnectFinishedSchema,
  ConnectInstallSchema,
  ConnectPageSessionSchema,
  InstanceUrlCheckedSchema,
  InstanceUrlCheckSchema,
} from '../connect/schemas';
import {
  checkAgain,
  finishSession,
  install,
  resolveInstanceUrl,
  submitAttempt,
} from '../connect/session-actions';
import { requireSessionToken } from '../connect/session-auth';
import type { AddressLimit } from '../address-limit';
import { vendorForm } from '../connect/vendor-forms';
import { ApiError, validationError } from '../errors';
import { ErrorSchema } from '../schemas';
import type { TenantData } from '../tenant-data';

/** Page calls per session per minute: polling once a second uses 60. */
const PAGE_API_RATE_PER_MINUTE = 300;

/** Nothing but this origin: no inline code, no other host, no plugin, no form posting anywhere. */
function contentSecurityPolicy(embedderOrigin: string | null): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'none'",
    "base-uri 'none'",
    // Framed only by the origin the session returns to (an iframe embedding), else by nobody.
    `frame-ancestors ${embedderOrigin ?? "'none'"}`,
  ].join('; ');
}

const errors = { 400: ErrorSchema, 401: ErrorSchema, 409: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };

export const connectPageRoutes: FastifyPluginAsyncZod<{
  deps: AppDeps;
  data: TenantData;
  addressLimit: AddressLimit;
}> = async (app, { deps, data, addressLimit }) => {
  const { connectSessions } = data;
  const ctx = { deps, data };
  const assets = loadConnectPageAssets(`${CONNECT_PAGE_PREFIX}/assets`);
  const forms = new Map(vendors.map((v) => [v.id, vendorForm(v, deps.publicUrl)]));

  app.get(
    `${CONNECT_PAGE_PREFIX}/:sessionId`,
    {
      schema: {
        tags: ['connect page'],
        summary: `The connect page of a session (HTML). Open it as the session's url, which carries the token in its fragment (#token=…).`,
        params: z.object({ sessionId: z.uuid() }),
      },
    },
    async (request, reply) => {
      const session = await connectSessions.framing(request.params.sessionId);
      const open = session && !session.completedAt && session.expiresAt > new Date();
      const embedder = open && session.returnUrl ? new URL(session.returnUrl).origin : null;
      if (embedder) {
        // frame-ancestors decides who may frame it; a popup must keep its opener to post the result back.
        reply.removeHeader('x-frame-options');
        reply.header('cross-origin-opener-policy', 'unsafe-none');
      }
      return reply
        .header('content-security-policy', contentSecurityPolicy(embedder))
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(assets.html);
    },
  );

  app.get(
    `${CONNECT_PAGE_PREFIX}/assets/:name`,
    {
      schema: {
        tags: ['connect page'],
        summary: "The connect page's script and stylesheet",
        params: z.object({ name: z.string().max(64) }),
      },
    },
    async (request, reply) => {
      const file = assets.files.get(request.params.name);
      if (!file) throw new ApiError(404, 'not_found', `no asset ${request.params.name}`);
      return reply
        .header('cache-control', 'public, max-age=31536000, immutable')
        .type(file.contentType)
        .send(file.body);
    },
  );

  await app.register(
    async (plugin) => {
      const api = plugin.withTypeProvider<ZodTypeProvider>();
      requireSessionToken(api, data, addressLimit);
      await api.register(rateLimit, {
        max: PAGE_API_RATE_PER_MINUTE,
        timeWindow: 60_000,
        hook: 'preHandler',
        keyGenerator: (request) => request.connectSession?.id ?? request.ip,
        errorResponseBuilder: (_request, context) =>
          new ApiError(
            429,
            'rate_limited',
            `more than ${context.max} requests per minute; retry in ${context.after}`,
          ),
      });

      async function progressOf(session: ConnectSession) {
        const connection = await connectSessions.connection(session);
        const vendor = connection ? findVendor(connection.vendor) : undefined;
        const now = new Date();
        const latestEvent = connection ? await connectSessions.latestWorkflowEvent(connection.id) : null;
        // A status query per poll, only while the page waits on what the user did (a revoked workflow ended).
        const underWay =
          connection !== null && connection.status !== 'revoked' && actionPending(session, now)
            ? await commandUnderWay(deps, connection)
            : false;
        const workflow = { latestEvent, commandUnderWay: underWay };
        return { connection, progress: connectProgress(session, connection, vendor, workflow, now) };
      }

      async function pageSession(current: ConnectSession, extra: { authorizeUrl?: string } = {}) {
        // Read again: an action just changed it.
        const session = await connectSessions.get(current.tenantId, current.id);
        const { connection, progress } = await progressOf(session);
        return {
          id: session.id,
          mode: session.reconnect ? ('reconnect' as const) : ('link' as const),
          expiresAt: session.expiresAt.toISOString(),
          returnTo: session.returnUrl
            ? { origin: new URL(session.returnUrl).origin, host: new URL(session.returnUrl).host }
            : null,
          vendors: session.vendors.flatMap((id) => forms.get(id) ?? []),
          connection: connection && {
            id: connection.id,
            vendor: connection.vendor,
            instanceUrl: connection.instanceUrl,
            settings: (connection.settings ?? {}) as Record<string, unknown>,
            status: connection.status,
          },
          progress,
          ...extra,
        };
      }

      /** Single purpose: once the session's connection works, the token can only finish. */
      async function changeable(session: ConnectSession) {
        const { connection, progress } = await progressOf(session);
        if (progress.outcome === 'active') {
          throw new ApiError(409, 'already_connected', 'the connection works: finish the session');
        }
        return connection;
      }

      api.get(
        '/session',
        {
          schema: {
            tags: ['connect page'],
            summary: `What the page shows: the vendors offered, their forms, the connection and its progress.`,
            response: { 200: ConnectPageSessionSchema, ...errors },
          },
        },
        async (request) => pageSession(request.connectSession),
      );

      api.post(
        '/instance-url',
        {
          schema: {
            tags: ['connect page'],
            summary: `The instance URL as it would be stored (normalised, or the vendor's default), or why not.`,
            body: InstanceUrlCheckSchema,
            response: { 200: InstanceUrlCheckedSchema, ...errors },
          },
        },
        async (request) => {
          const { vendor: id, instanceUrl, settings } = request.body;
          const vendor = findVendor(id);
          if (!vendor || !request.connectSession.vendors.includes(vendor.id)) {
            throw validationError([{ field: 'body.vendor', message: 'not offered by this connect link' }]);
          }
          const resolved = resolveInstanceUrl(vendor, instanceUrl, settings ?? {}, deps.urlPolicy);
          if ('error' in resolved)
            throw validationError([{ field: 'body.instanceUrl', message: resolved.error }]);
          return resolved;
        },
      );

      api.post(
        '/attempts',
        {
          schema: {
            tags: ['connect page'],
            summary: `Submit the form: links the connection, or corrects it (fields left out keep what was entered before), or rotates a working one.`,
            body: ConnectAttemptSchema,
            response: { 200: ConnectPageSessionSchema, ...errors },
          },
        },
        async (request) => {
          const session = request.connectSession;
          const connection = await changeable(session);
          const { authorizeUrl } = await submitAttempt(ctx, session, connection, request.body);
          return pageSession(session, authorizeUrl ? { authorizeUrl } : {});
        },
      );

      api.post(
        '/check-again',
        {
          schema: {
            tags: ['connect page'],
            summary: `Verify the connection again now (after permissions were granted at the vendor).`,
            response: { 200: ConnectPageSessionSchema, ...errors },
          },
        },
        async (request) => {
          const session = request.connectSession;
          const connection = await changeable(session);
          if (!connection) throw new ApiError(409, 'conflict', 'nothing was submitted yet');
          await checkAgain(ctx, session, connection);
          return pageSession(session);
        },
      );

      api.post(
        '/install',
        {
          schema: {
            tags: ['connect page'],
            summary: `Start (again) the install on the vendor's consent page; its callback comes back to the page.`,
            response: { 200: ConnectInstallSchema, ...errors },
          },
        },
        async (request) => {
          const session = request.connectSession;
          const connection = await changeable(session);
          if (!connection) throw new ApiError(409, 'conflict', 'nothing was submitted yet');
          return { authorizeUrl: await install(ctx, session, connection) };
        },
      );

      api.post(
        '/finish',
        {
          schema: {
            tags: ['connect page'],
            summary: `End the session (the token dies) and learn where to send the end user, with what result.`,
            response: { 200: ConnectFinishedSchema, ...errors },
          },
        },
        async (request) => {
          const session = request.connectSession;
          const { connection, progress } = await progressOf(session);
          return finishSession(ctx, session, connection, progress);
        },
      );
    },
    { prefix: `${CONNECT_PAGE_PREFIX}/api` },
  );
};
