// InvGate Service Management: OAuth2 client credentials; the access token is a JWT whose `scopes` claim
// lists the grant; REST endpoints are dotted names under /api/v1, each guarded by api.v1.<endpoint>:<method>.
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientCredentialsGrant, type ClientCredentialsPolicy } from './client-credentials-grant';
import { signJwt, verifiedSignature } from './jwt';
import { oauthError, oauthErrorBody } from './oauth-errors';
import { bearerToken } from './request-credentials';
import { COMMON_SCENARIOS } from './scenario';
import type { VendorSimulator } from './vendor';
import type { Caller, ErrorBody, VendorRuntime } from './vendor-runtime';

/** The API surface the simulator serves: endpoint, method, and a tiny canned answer. */
const ENDPOINTS: ReadonlyArray<{ endpoint: string; method: 'GET' | 'POST'; answer: unknown }> = [
  { endpoint: 'categories', method: 'GET', answer: [{ id: 1, name: 'Hardware', parent_category_id: null }] },
  { endpoint: 'incident.attributes.type', method: 'GET', answer: [{ id: 1, name: 'Incident' }] },
  { endpoint: 'incident.attributes.priority', method: 'GET', answer: [{ id: 1, name: 'Low' }] },
  { endpoint: 'cf.fields.all', method: 'GET', answer: [{ id: 1, name: 'Asset tag', type: 1 }] },
  { endpoint: 'cf.fields.types', method: 'GET', answer: [{ id: 1, name: 'Text' }] },
  { endpoint: 'cf.fields.by.category', method: 'GET', answer: [{ id: 1, name: 'Asset tag' }] },
  { endpoint: 'cf.field.options.list', method: 'GET', answer: [{ id: 1, value: 'Option A' }] },
  { endpoint: 'wf.initialfields.by.category', method: 'GET', answer: [{ field: 'title', required: true }] },
  {
    endpoint: 'users',
    method: 'GET',
    answer: [{ id: 1, name: 'Ada', lastname: 'Lovelace', email: 'ada@example.com' }],
  },
  { endpoint: 'locations', method: 'GET', answer: [{ id: 1, name: 'Head office' }] },
  { endpoint: 'incident', method: 'POST', answer: undefined },
  { endpoint: 'incident.custom_field', method: 'POST', answer: { status: 'OK' } },
];

/** Every scope the demo clients are configured with (catalog/README.md). */
const ALLOWED_SCOPES = new Set(ENDPOINTS.map((e) => scopeFor(e.endpoint, e.method)));
/** What demo-missing-scopes leaves out of any grant. */
const MISSING_SCOPES = new Set(['api.v1.locations:get', 'api.v1.incident.custom_field:post']);

const DEFAULT_LIFETIME_SECONDS = 3600;

const FAILURE_MESSAGES = {
  missing: 'Missing Authorization bearer token',
  invalid: 'Invalid access token',
  expired: 'The access token has expired',
  revoked: 'The access token has been revoked',
} as const;

function scopeFor(endpoint: string, method: 'GET' | 'POST'): string {
  return `api.v1.${endpoint}:${method.toLowerCase()}`;
}

const apiErrorBody: ErrorBody = (_status, message) => ({ status: 'ERROR', error: message });

/** InvGate's quirk (catalog/README.md): a failed client authentication is HTTP 200 carrying an OAuth error. */
function rejectWith200(reply: FastifyReply, description: string): unknown {
  reply.code(200);
  return oauthError('invalid_client', description);
}

const policy: ClientCredentialsPolicy = {
  defaultLifetimeSeconds: DEFAULT_LIFETIME_SECONDS,
  // Unknown scopes are silently not granted: the caller must compare the `scopes` claim with what it asked.
  grantScopes: (requested, scenario) =>
    requested.filter(
      (scope) =>
        ALLOWED_SCOPES.has(scope) && !(scenario.kind === 'missing-scopes' && MISSING_SCOPES.has(scope)),
    ),
  rejectClient: rejectWith200,
  mint({ clientId, scopes, lifetimeSeconds }) {
    const iat = Math.floor(Date.now() / 1000);
    const { token, signature } = signJwt({
      aud: clientId,
      sub: clientId,
      jti: randomUUID(),
      iat,
      nbf: iat,
      exp: iat + lifetimeSeconds,
      scopes,
    });
    return { token, key: signature };
  },
  reportsScope: false,
};

export const invgate: VendorSimulator = {
  name: 'invgate',
  title: 'InvGate Service Management',
  scenarios: [...COMMON_SCENARIOS, '200-error'],
  demo: (vendorUrl) => ({
    instanceUrl: vendorUrl,
    credentials: 'client_id=demo-all-scopes client_secret=demo-secret',
  }),
  register(app, runtime) {
    runtime.route(app, {
      method: 'POST',
      url: '/oauth/v2/0/access_token',
      kind: 'token',
      identify: (request) => runtime.clientCaller(request),
      errorBody: oauthErrorBody,
      handle: (call, request, reply) =>
        call.scenario?.kind === '200-error'
          ? rejectWith200(reply, 'Client authentication failed')
          : clientCredentialsGrant(runtime, policy, call, request, reply),
    });

    let nextRequestId = 1;
    runtime.onReset(() => (nextRequestId = 1));
    const identify = identifyBearer(runtime);
    for (const { endpoint, method, answer } of ENDPOINTS) {
      const scope = scopeFor(endpoint, method);
      runtime.route(app, {
        method,
        url: `/api/v1/${endpoint}`,
        kind: 'api',
        identify,
        errorBody: apiErrorBody,
        handle(call, _request, reply) {
          const failure = runtime.authenticate(call);
          if (failure) {
            reply.code(401);
            return apiErrorBody(401, FAILURE_MESSAGES[failure]);
          }
          if (!runtime.hasScope(call, scope)) {
            reply.code(403);
            return apiErrorBody(403, `The access token does not have the scope ${scope}`);
          }
          return answer ?? { status: 'OK', request_id: nextRequestId++ };
        },
      });
    }
  },
};

/** API callers present the JWT; it is looked up by its verified signature. */
function identifyBearer(runtime: VendorRuntime) {
  return (request: FastifyRequest): Caller =>
    runtime.issuedTokenCaller(bearerToken(request), verifiedSignature);
}
