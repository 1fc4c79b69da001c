// NinjaOne: OAuth2 client credentials at /ws/oauth/token (scopes monitoring, management, control; no
// refresh token; offline_access refused), RFC 7009 revocation at /ws/oauth/revoke, RFC 8414 metadata,
// and the public API under /v2: organizations, and the end users of ninjaone-end-users.ts.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientCredentialsGrant, type ClientCredentialsPolicy } from './client-credentials-grant';
import { oauthError, oauthErrorBody } from './oauth-errors';
import { opaqueToken } from './opaque-token';
import { bearerToken, clientCredentials, field } from './request-credentials';
import { COMMON_SCENARIOS, DEMO_SECRET } from './scenario';
import { EndUserDirectory, EndUserError, ORGANIZATIONS } from './ninjaone-end-users';
import type { VendorSimulator } from './vendor';
import type { ErrorBody } from './vendor-runtime';

const ALLOWED_SCOPES = new Set(['monitoring', 'management', 'control']);
/** What demo-missing-scopes leaves out: remote control. */
const MISSING_SCOPES = new Set(['control']);

const FAILURE_MESSAGES = {
  missing: 'Full authentication is required to access this resource',
  invalid: 'Invalid access token',
  expired: 'Access token expired',
  revoked: 'Access token revoked',
} as const;

const ERROR_CODES: Record<number, string> = {
  401: 'invalid_token',
  403: 'insufficient_scope',
  404: 'not_found',
  409: 'conflict',
  429: 'too_many_requests',
};

/** RFC 6750 §3.1 style error bodies: NinjaOne's API error format is not documented (see README). */
const apiErrorBody: ErrorBody = (status, message) => ({
  error: ERROR_CODES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request'),
  error_description: message,
});

const policy: ClientCredentialsPolicy = {
  defaultLifetimeSeconds: 3600,
  grantScopes(requested, scenario) {
    // NinjaOne's EU region answers 400 to offline_access with client credentials; the simulator always does.
    const refused = requested.find((scope) => !ALLOWED_SCOPES.has(scope));
    if (refused !== undefined) return oauthError('invalid_scope', `Invalid scope: ${refused}`);
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

export const ninjaone: VendorSimulator = {
  name: 'ninjaone',
  title: 'NinjaOne',
  scenarios: COMMON_SCENARIOS,
  demo: (vendorUrl) => ({
    instanceUrl: vendorUrl,
    credentials: 'client_id=demo-all-scopes client_secret=demo-secret scope="monitoring management control"',
  }),
  register(app, runtime) {
    const issuerOf = (request: FastifyRequest) => `${request.protocol}://${request.host}${app.prefix}`;

    runtime.route(app, {
      method: 'GET',
      url: '/.well-known/oauth-authorization-server',
      kind: 'auth',
      identify: () => ({ obtainsCredentials: false }),
      errorBody: oauthErrorBody,
      handle(_call, request) {
        const issuer = issuerOf(request);
        return {
          issuer,
          authorization_endpoint: `${issuer}/ws/oauth/authorize`,
          token_endpoint: `${issuer}/ws/oauth/token`,
          revocation_endpoint: `${issuer}/ws/oauth/revoke`,
          scopes_supported: [...ALLOWED_SCOPES, 'offline_access'],
          grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
          token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
          revocation_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
        };
      },
    });

    runtime.route(app, {
      method: 'POST',
      url: '/ws/oauth/token',
      kind: 'token',
      identify: (request) => runtime.clientCaller(request),
      errorBody: oauthErrorBody,
      handle: (call, request, reply) => clientCredentialsGrant(runtime, policy, call, request, reply),
    });

    runtime.route(app, {
      method: 'POST',
      url: '/ws/oauth/revoke',
      kind: 'auth',
      // A revocation is not a credential request: demo-rate-limited and demo-flaky do not count it.
      identify: (request) => ({ ...runtime.clientCaller(request), obtainsCredentials: false }),
      errorBody: oauthErrorBody,
      handle(call, request, reply) {
        const { clientSecret } = clientCredentials(request);
        if (call.scenario === undefined || clientSecret !== DEMO_SECRET) {
          reply.code(401);
          return oauthError('invalid_client', 'Client authentication failed');
        }
        const token = field(request, 'token');
        if (token === undefined) {
          reply.code(400);
          return oauthError('invalid_request', 'token is required');
        }
        // RFC 7009 §2.2: unknown tokens also get 200. Only the client's own tokens are revoked.
        const record = runtime.tokens.get(token);
        if (record && record.subject === call.subject) record.revoked = true;
        return reply.code(200).send();
      },
    });

    const directory = new EndUserDirectory();
    runtime.onReset(() => directory.reset());
    const api = (
      method: 'GET' | 'POST' | 'DELETE',
      url: string,
      scope: string,
      answer: (request: FastifyRequest, reply: FastifyReply) => unknown,
    ) =>
      runtime.route(app, {
        method,
        url,
        kind: 'api',
        identify: (request) => runtime.issuedTokenCaller(bearerToken(request)),
        errorBody: apiErrorBody,
        handle(call, request, reply) {
          const failure = runtime.authenticate(call);
          if (failure) {
            reply.code(401).header('www-authenticate', `Bearer error="invalid_token"`);
            return apiErrorBody(401, FAILURE_MESSAGES[failure]);
          }
          if (!runtime.hasScope(call, scope)) {
            reply.code(403).header('www-authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
            return apiErrorBody(403, `The access token does not have the ${scope} scope`);
          }
          const result = answer(request, reply);
          if (result instanceof EndUserError) {
            reply.code(result.status);
            return apiErrorBody(result.status, result.message);
          }
          return result;
        },
      });
    const input = (value: unknown) => (value ?? {}) as Record<string, unknown>;
    api('GET', '/v2/organizations', 'monitoring', () => ORGANIZATIONS);
    api('GET', '/v2/user/end-users', 'monitoring', () => directory.list());
    api('POST', '/v2/user/end-users', 'management', (request) =>
      directory.create(input(request.body), input(request.query)),
    );
    api('DELETE', '/v2/user/end-user/:id', 'management', (request, reply) => {
      const removed = directory.remove((request.params as { id: string }).id);
      return removed === true ? reply.code(204).send() : removed;
    });
  },
};
