// POST /v1/connections/{id}/access-token: the one answer that carries a vendor token, for the customer's own
// services. Needs the key scope connections:token; has its own rate limit; never cached; every token handed
// out is an audit event on the connection naming the key (never the token).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getVendor } from '../../catalog';
import { apiBaseUrls, DEFAULT_API_BASE } from '../../vendor-kit/api-bases';
import { vendorContext } from '../../vendor-kit/context';
import type { VendorHttp } from '../../vendor-kit/vendor-http';
import type { Connection } from '../../platform/db';
import type { AccessMetrics } from '../access-metrics';
import { AccessTokenRequestSchema, AccessTokenSchema, ConnectionUnusableSchema } from '../access-schemas';
import type { AppDeps } from '../app';
import { readScope, requestActor } from '../auth';
import { validationError } from '../errors';
import { ErrorSchema, IdParamsSchema } from '../schemas';
import type { TenantData } from '../tenant-data';
import { getValidAccessToken } from '../token-access';
import { tokenFailure } from '../token-answers';

/** Default per-key limit of this route, per minute: tokens are meant to be used until they expire. */
export const DEFAULT_TOKEN_RATE_LIMIT_PER_MINUTE = 60;

export const accessTokenRoutes: FastifyPluginAsyncZod<{
  deps: AppDeps;
  data: TenantData;
  metrics: AccessMetrics;
}> = async (app, { deps, data, metrics }) => {
  const tokens = { connections: data.connections, secrets: deps.secrets, temporal: deps.temporal };
  app.post(
    '/connections/:id/access-token',
    {
      schema: {
        tags: ['token access'],
        summary: "Hand out the connection's vendor token, refreshed first if it would expire too soon",
        description:
          'Needs the API key scope `connections:token`. Answers `Cache-Control: no-store`. A stored token that would ' +
          'expire within `minValiditySeconds` is refreshed through the connection’s workflow first (one refresh for ' +
          'any number of concurrent callers); static tokens (Promapp, pasted Slack tokens) are returned as they are. ' +
          'A connection that cannot serve answers 409 with its status and reason. Every token handed out is an audit ' +
          'event on the connection naming the API key.',
        params: IdParamsSchema,
        body: AccessTokenRequestSchema,
        response: {
          200: AccessTokenSchema,
          400: ErrorSchema,
          404: ErrorSchema,
          409: ConnectionUnusableSchema,
          429: ErrorSchema,
          503: ErrorSchema,
        },
      },
      config: {
        rateLimit: {
          max: deps.tokenRateLimitPerMinute ?? DEFAULT_TOKEN_RATE_LIMIT_PER_MINUTE,
          timeWindow: 60_000,
        },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const { minValiditySeconds } = request.body;
      const connection = await data.connections.get(readScope(request), request.params.id);
      checkWindow(connection, minValiditySeconds);
      let token;
      try {
        token = await getValidAccessToken(tokens, connection, {
          minValidityMs: minValiditySeconds * 1000,
        });
      } catch (err) {
        metrics.tokens.inc({ vendor: connection.vendor, outcome: 'refused' });
        throw tokenFailure(err);
      }
      // Written before the token leaves: a token handed out without its audit event cannot happen.
      await data.tokenIssues.record(connection, {
        actor: requestActor(request),
        apiKeyPrefix: request.auth.prefix,
        minValiditySeconds,
        refreshed: token.refreshed,
        tokenExpiresAt: token.expiresAt,
      });
      metrics.tokens.inc({
        vendor: connection.vendor,
        outcome: token.refreshed ? 'issued_after_refresh' : 'issued',
      });
      const bases = apiBaseUrls(
        getVendor(connection.vendor),
        vendorContext(token.connection, noVendorCalls, deps.vendorEndpoints),
      );
      return {
        connectionId: connection.id,
        vendor: connection.vendor,
        accessToken: token.accessToken,
        tokenType: 'Bearer' as const,
        expiresAt: token.expiresAt?.toISOString() ?? null,
        expiresInSeconds: token.expiresAt
          ? Math.max(0, Math.floor((token.expiresAt.getTime() - Date.now()) / 1000))
          : null,
        grantedScopes: token.connection.grantedScopes,
        apiBaseUrl: bases[DEFAULT_API_BASE]!,
        apiBaseUrls: bases,
        refreshed: token.refreshed,
      };
    },
  );
};

/**
 * A window longer than half the token's lifetime is refused: each refresh would serve so briefly that
 * callers asking for it would keep the vendor's token endpoint busy (one refresh per lifetime − window).
 */
function checkWindow(connection: Connection, minValiditySeconds: number): void {
  const { tokenExpiresAt, tokenObtainedAt } = connection;
  if (!tokenExpiresAt || !tokenObtainedAt) return;
  const lifetimeSeconds = Math.floor((tokenExpiresAt.getTime() - tokenObtainedAt.getTime()) / 1000);
  const max = Math.floor(lifetimeSeconds / 2);
  if (minValiditySeconds > max) {
    throw validationError([
      {
        field: 'body.minValiditySeconds',
        message: `at most ${max} for this connection: half its token lifetime of ${lifetimeSeconds} s`,
      },
    ]);
  }
}

/** The API bases come from configuration only; no hook may call the vendor for them. */
const noVendorCalls: VendorHttp = {
  send: () => Promise.reject(new Error('no vendor call while computing API bases')),
};
