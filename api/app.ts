// buildApp(deps) returns the Fastify app without listening, so tests drive it with app.inject().
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import Fastify from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { VendorEndpoints } from '../vendor-kit/definition';
import type { SharedRateLimits } from '../vendor-kit/rate-limits';
import type { Db } from '../platform/db';
import type { EncryptionCodec } from '../platform/payload-codec';
import type { SecretStore } from '../platform/secret-store';
import type { UrlPolicy } from '../vendor-kit/url-policy';
import { DEFAULT_QUOTAS, type Quotas } from '../platform/config';
import type { MaintenancePolicy } from '../domain/policy';
import { API_KEY_SECURITY_SCHEME, requireApiKey } from './auth';
import { CONNECT_SESSION_SECURITY_SCHEME } from './connect/session-auth';
import { createTenantData } from './tenant-data';
import type { ApiKeyVerifier } from '../platform/api-keys';
import { acceptEmptyJsonBody } from './empty-json-body';
import { registerMetrics } from './metrics';
import { requestForLog } from './request-log';
import { createAddressLimit } from './address-limit';
import { ApiError, errorHandler, notFoundHandler } from './errors';
import { auditTrailRoutes } from './routes/audit-trail';
import { connectionCommandRoutes } from './routes/connection-commands';
import { connectionRoutes } from './routes/connections';
import { connectPageRoutes } from './routes/connect-page';
import { connectSessionRoutes } from './routes/connect-sessions';
import { connectorRoutes } from './routes/connectors';
import { installRoutes, oauthCallbackRoutes } from './routes/oauth';
import { codecRoutes } from './routes/codec';
import { healthRoutes } from './routes/health';
import { webhookRoutes } from './routes/webhooks';
import { apiKeyRoutes } from './routes/api-keys';
import { accessTokenRoutes } from './routes/access-token';
import { proxyRoutes, type ProxyOptions } from './routes/proxy';
import { createAccessMetrics } from './access-metrics';
import { jobRoutes } from './routes/jobs';
import type { JobPolicy } from '../domain/jobs';
import { lifecycleEventRoutes } from './routes/lifecycle-events';
import type { LifecyclePolicy } from '../domain/lifecycle-events';

export interface AppDeps {
  db: Db;
  temporal: Client;
  secrets: SecretStore;
  taskQueue: string;
  urlPolicy: UrlPolicy;
  /** Overrides of the maintain loop's timings, passed to every new lifecycle workflow. */
  policy: Partial<MaintenancePolicy>;
  /** Requests per minute per API key on /v1 (default 600). */
  rateLimitPerMinute?: number;
  /** Provisioning jobs' waits and retries (TETHER_JOB_*), passed to every new job workflow. */
  jobs?: Partial<Omit<JobPolicy, 'webhookRetry'>>;
  /** Lifecycle events' leaver deadline (TETHER_LIFECYCLE_LEAVER_WAIT_MS). */
  lifecycle?: Partial<LifecyclePolicy>;
  /** Per-tenant quotas (TETHER_QUOTA_*); unset ones keep their defaults. */
  quotas?: Partial<Quotas>;
  /** Requests per minute per API key on POST /v1/connections/{id}/access-token (default 60), counted apart. */
  tokenRateLimitPerMinute?: number;
  /**
   * Per client address and minute (default 120): OAuth callbacks, wrong codec tokens and failed
   * authentications (api/address-limit.ts).
   */
  addressRateLimitPerMinute?: number;
  /** How long /metrics serves its fleet counts before reading them again (default 30 s). */
  metricsCacheMs?: number;
  /** The proxy's outbound limits (default: the worker's defaults); loopback follows urlPolicy. */
  proxy?: Partial<ProxyOptions>;
  /** The vendor rate limits the proxy shares with the workers; unset, proxied calls take no budget. */
  rateLimits?: SharedRateLimits;
  /** Where customers' browsers reach this API (TETHER_PUBLIC_URL): OAuth installs need it for their redirect URI. */
  publicUrl?: string;
  /**
   * Where an install's callback sends the admin's browser, with the outcome in the query (TETHER_INSTALL_RETURN_URL);
   * unset: the callback answers a small page of its own.
   */
  installReturnUrl?: string;
  /** Overrides of fixed vendor URLs (Slack's), the same as the worker's. */
  vendorEndpoints?: VendorEndpoints;
  /** How long a command waits for Temporal to take it (TETHER_COMMAND_TIMEOUT_MS, default 10 s). */
  commandTimeoutMs?: number;
  /** The Temporal Web UI's address (TETHER_TEMPORAL_UI_URL): connections then link to their workflow there. */
  temporalUiUrl?: string;
  /** Serves /codec/decode|encode for the Temporal Web UI when given. */
  codec?: { codec: EncryptionCodec; allowedOrigins: string[]; uiToken?: string };
  /** How API keys are verified (main/services.ts keeps them in memory, told of changes); default: each request reads its key. */
  apiKeyVerifier?: ApiKeyVerifier;
  logger?: Logger | false;
}

const MAX_BODY_BYTES = 64 * 1024;

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route served, by method and URL pattern, as registered: tests walk them all, new ones included. */
    routeTable: readonly { method: string; url: string }[];
  }
}

export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    // The request log names a request by its path only (api/request-log.ts), never its query.
    loggerInstance: deps.logger ? deps.logger.child({}, { serializers: { req: requestForLog } }) : undefined,
    logger: deps.logger === undefined ? false : undefined,
    bodyLimit: MAX_BODY_BYTES,
  }).withTypeProvider<ZodTypeProvider>();
  const routeTable: { method: string; url: string }[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url });
  });

  // Graceful shutdown: close() stops accepting connections and waits for requests in flight, but a
  // keep-alive connection that goes idle afterwards would hold the server open until its keep-alive
  // timeout (72 s). Once closing, answers say `Connection: close`, so such a connection ends with its answer.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Tether API',
        version: '0.1.0',
        description: 'Link SaaS vendor accounts and keep their tokens alive for identity provisioning.',
      },
      components: { securitySchemes: { ...API_KEY_SECURITY_SCHEME, ...CONNECT_SESSION_SECURITY_SCHEME } },
    },
    transform: jsonSchemaTransform,
    // Puts the schemas named with .meta({ id }) under components, where the paths' $refs point.
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // A JSON API: no CSP needed for its answers (and /docs serves its own scripts).
  await app.register(helmet, { contentSecurityPolicy: false });
  const data = createTenantData(deps.db, { ...DEFAULT_QUOTAS, ...deps.quotas }, deps.apiKeyVerifier);
  const addressLimit = createAddressLimit(deps.addressRateLimitPerMinute ?? 120);
  const accessMetrics = createAccessMetrics(
    registerMetrics(app, {
      apiKeys: data.apiKeys,
      operator: data.operator,
      addressLimit,
      cacheMs: deps.metricsCacheMs ?? 30_000,
    }),
  );
  await app.register(healthRoutes, { deps, data });
  if (deps.codec) await app.register(codecRoutes, { apiKeys: data.apiKeys, addressLimit, ...deps.codec });
  await app.register(
    async (v1) => {
      requireApiKey(v1, data.apiKeys, addressLimit);
      acceptEmptyJsonBody(v1);
      await v1.register(rateLimit, {
        max: deps.rateLimitPerMinute ?? 600,
        timeWindow: 60_000,
        // After authentication, so the limit is per key, not per address.
        hook: 'preHandler',
        keyGenerator: (request) => request.auth?.keyId ?? request.ip,
        errorResponseBuilder: (_request, context) =>
          new ApiError(
            429,
            'rate_limited',
            `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`,
          ),
      });
      await v1.register(connectorRoutes);
      await v1.register(connectionRoutes, { deps, data });
      await v1.register(jobRoutes, { deps, data });
      await v1.register(lifecycleEventRoutes, { deps, data });
      await v1.register(connectionCommandRoutes, { deps, data });
      await v1.register(auditTrailRoutes, { data });
      await v1.register(webhookRoutes, { deps, data });
      await v1.register(apiKeyRoutes, { data });
      await v1.register(installRoutes, { deps, data });
      await v1.register(connectSessionRoutes, { deps, data });
      await v1.register(accessTokenRoutes, { deps, data, metrics: accessMetrics });
      await v1.register(proxyRoutes, { deps, data, metrics: accessMetrics });
    },
    { prefix: '/v1' },
  );
  // Outside the API key: the vendor's consent page sends the admin's browser here; its state authenticates it.
  // Every callback counts against its address's budget, checked before the state is looked up.
  await app.register(oauthCallbackRoutes, { prefix: '/v1', deps, data, addressLimit });
  // The connect page and its API: the session token, not an API key, authenticates them; refused tokens
  // count against the address's budget like failed API keys.
  await app.register(connectPageRoutes, { deps, data, addressLimit });
  return app;
}
