// HaloITSM (same platform as HaloPSA): discovery at /api/authinfo, OAuth2 client credentials at /auth/token
// (secret in the body or HTTP Basic), scopes like read:tickets, a per-client rolling rate limit, error bodies
// that differ by layer, and a service desk (tickets, users, assets: halo-desk.ts), as catalog/README.md reports.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientCredentialsGrant, type ClientCredentialsPolicy } from './client-credentials-grant';
import { HaloDesk, HaloDeskError } from './halo-desk';
import { oauthError, oauthErrorBody } from './oauth-errors';
import { opaqueToken } from './opaque-token';
import { bearerToken, field } from './request-credentials';
import { COMMON_SCENARIOS } from './scenario';
import type { VendorSimulator } from './vendor';
import type { Call, ErrorBody, VendorRuntime } from './vendor-runtime';

export const HALO_TENANT_ID = 'simulator';
const ALLOWED_SCOPES = new Set(['read:tickets', 'edit:tickets', 'read:assets', 'read:customers', 'all']);
/** What demo-missing-scopes leaves out: asset access (and `all`, which would imply it). */
const MISSING_SCOPES = new Set(['read:assets', 'all']);
const DEFAULT_RATE_LIMIT = { requests: 300, windowSeconds: 300 };

const FAILURE_MESSAGES = {
  missing: 'Authorization has been denied for this request.',
  invalid: 'Authorization has been denied for this request.',
  expired: 'Authorization has been denied for this request: the access token has expired.',
  revoked: 'Authorization has been denied for this request: the access token has been revoked.',
} as const;

/**
 * Halo's bodies vary: {Message} for authorization and refused input, {ClassName, Message} for exceptions,
 * {resultCode, errorMessage} for throttling.
 */
const apiErrorBody: ErrorBody = (status, message) => {
  if (status === 400 || status === 401) return { Message: message };
  if (status === 429) return { resultCode: 429, errorMessage: message };
  return { ClassName: status === 403 ? 'HaloForbiddenException' : 'System.Exception', Message: message };
};

const policy: ClientCredentialsPolicy = {
  defaultLifetimeSeconds: 3600,
  grantScopes(requested, scenario) {
    const unknown = requested.find((scope) => !ALLOWED_SCOPES.has(scope));
    if (unknown !== undefined) return oauthError('invalid_scope', `Unknown scope ${unknown}`);
    return requested.filter((scope) => !(scenario.kind === 'missing-scopes' && MISSING_SCOPES.has(scope)));
  },
  rejectClient(reply, description) {
    reply.code(401);
    return oauthError('invalid_client', description);
  },
  mint: () => {
    const token = opaqueToken();
    return { token, key: token };
  },
  reportsScope: true,
};

export const halo: VendorSimulator = {
  name: 'halo',
  title: 'HaloITSM',
  scenarios: COMMON_SCENARIOS,
  demo: (vendorUrl) => ({
    instanceUrl: vendorUrl,
    credentials: 'client_id=demo-all-scopes client_secret=demo-secret (body or HTTP Basic)',
  }),
  register(app, runtime, options) {
    const rateLimit = options.haloRateLimit ?? DEFAULT_RATE_LIMIT;
    const limiter = runtime.limiter('requests', rateLimit);
    // Every request of a client counts, token requests included.
    runtime.admission = (call) => {
      if (call.subject === undefined) return undefined;
      const retryAfterSeconds = limiter.hit(call.subject);
      if (retryAfterSeconds === undefined) return undefined;
      const message = `Rate limit exceeded: ${rateLimit.requests} requests per ${rateLimit.windowSeconds} seconds`;
      return { status: 429, retryAfterSeconds, body: apiErrorBody(429, message) };
    };

    runtime.route(app, {
      method: 'GET',
      url: '/api/authinfo',
      kind: 'auth',
      identify: () => ({ obtainsCredentials: false }),
      errorBody: apiErrorBody,
      handle: (_call, request) => ({
        auth_url: `${vendorUrlOf(request, app.prefix)}/auth`,
        tenant_id: HALO_TENANT_ID,
      }),
    });

    runtime.route(app, {
      method: 'POST',
      url: '/auth/token',
      kind: 'token',
      identify: (request) => runtime.clientCaller(request),
      errorBody: oauthErrorBody,
      handle(call, request, reply) {
        // Hosted Halo adds ?tenant=; self-hosted instances have none, so it is optional here.
        const tenant = field(request, 'tenant');
        if (tenant !== undefined && tenant !== HALO_TENANT_ID) {
          reply.code(400);
          return oauthError('invalid_request', `Unknown tenant ${tenant}`);
        }
        return clientCredentialsGrant(runtime, policy, call, request, reply);
      },
    });

    const desk = new HaloDesk();
    runtime.onReset(() => desk.reset());
    const api = (
      method: 'GET' | 'POST',
      url: string,
      anyOf: string[] | undefined,
      answer: (request: FastifyRequest, reply: FastifyReply) => unknown,
    ) =>
      runtime.route(app, {
        method,
        url,
        kind: 'api',
        identify: (request) => runtime.issuedTokenCaller(bearerToken(request)),
        errorBody: apiErrorBody,
        handle(call, request, reply) {
          const refusal = authorize(runtime, call, anyOf);
          if (refusal) {
            reply.code(refusal.status);
            return refusal.body;
          }
          const result = answer(request, reply);
          if (result instanceof HaloDeskError) {
            reply.code(result.status);
            return apiErrorBody(result.status, result.message);
          }
          return result;
        },
      });
    const query = (request: FastifyRequest) => (request.query ?? {}) as Record<string, unknown>;
    api('GET', '/api/agent/me', undefined, () => ({
      id: 2,
      name: 'API Agent',
      email: 'api-agent@example.com',
      isdisabled: false,
    }));
    api('GET', '/api/tickets', ['read:tickets', 'all'], (request) => desk.list(query(request)));
    api('GET', '/api/tickets/:id', ['read:tickets', 'all'], (request) =>
      desk.ticket((request.params as { id: string }).id),
    );
    api('POST', '/api/tickets', ['edit:tickets', 'all'], (request, reply) => {
      const made = desk.create(request.body);
      if (!(made instanceof HaloDeskError)) reply.code(201);
      return made;
    });
    api('GET', '/api/users', ['read:customers', 'all'], (request) => desk.users(query(request)));
    api('GET', '/api/asset', ['read:assets', 'all'], (request) => desk.assets(query(request)));
  },
};

/** Where this vendor is mounted, as the caller sees it (Halo's auth_url is absolute). */
function vendorUrlOf(request: FastifyRequest, prefix: string): string {
  return `${request.protocol}://${request.host}${prefix}`;
}

/**
 * A valid token, and one of `anyOf` when given. A token granted no scope at all gets 401 rather than 403:
 * catalog/README.md says such tokens "work but calls return 401/403", and connectors must not mistake it for
 * bad credentials.
 */
function authorize(runtime: VendorRuntime, call: Call, anyOf: string[] | undefined) {
  const failure = runtime.authenticate(call);
  if (failure) return { status: 401, body: apiErrorBody(401, FAILURE_MESSAGES[failure]) };
  if (anyOf === undefined || anyOf.some((scope) => runtime.hasScope(call, scope))) return undefined;
  if (call.token?.scopes.size === 0) {
    return { status: 401, body: apiErrorBody(401, 'Authorization has been denied for this request.') };
  }
  return {
    status: 403,
    body: apiErrorBody(403, `This application requires one of the scopes: ${anyOf.join(', ')}`),
  };
}
