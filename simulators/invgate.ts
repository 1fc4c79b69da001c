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
import {
  byId,
  CUSTOM_FIELDS,
  DeskError,
  FIELD_TYPES,
  LOCATIONS,
  PRIORITIES,
  ServiceDesk,
  TYPES,
} from './invgate-desk';

type Endpoint = {
  endpoint: string;
  method: 'GET' | 'POST';
  answer: (desk: ServiceDesk, input: Input) => unknown;
};
type Input = Record<string, unknown>;

/** The API surface the simulator serves: each endpoint answers from the instance's service desk. */
const ENDPOINTS: readonly Endpoint[] = [
  { endpoint: 'categories', method: 'GET', answer: (desk, q) => desk.categories(q) },
  { endpoint: 'incident.attributes.type', method: 'GET', answer: (desk, q) => byId(TYPES, q) },
  { endpoint: 'incident.attributes.priority', method: 'GET', answer: (desk, q) => byId(PRIORITIES, q) },
  { endpoint: 'cf.fields.all', method: 'GET', answer: () => CUSTOM_FIELDS },
  { endpoint: 'cf.fields.types', method: 'GET', answer: () => FIELD_TYPES },
  { endpoint: 'cf.fields.by.category', method: 'GET', answer: (desk, q) => desk.fieldsOf(q) },
  { endpoint: 'cf.field.options.list', method: 'GET', answer: (desk, q) => desk.optionsOf(q) },
  {
    endpoint: 'wf.initialfields.by.category',
    method: 'GET',
    answer: () => ({ workflow_initial_fields: [{ field: 'title', required: true }] }),
  },
  { endpoint: 'users', method: 'GET', answer: (desk, q) => desk.users(q) },
  { endpoint: 'locations', method: 'GET', answer: (desk, q) => byId(LOCATIONS, q) },
  { endpoint: 'incident', method: 'POST', answer: (desk, body) => desk.createIncident(body) },
  { endpoint: 'incident', method: 'GET', answer: (desk, q) => desk.incident(q) },
  { endpoint: 'incident.custom_field', method: 'POST', answer: (desk, body) => desk.setCustomField(body) },
];

/** The twelve scopes of catalog/README.md, and api.v1.incident:get (tests read requests back with it). */
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

    const desk = new ServiceDesk();
    runtime.onReset(() => desk.reset());
    const identify = identifyBearer(runtime);
    for (const { endpoint, method, answer } of ENDPOINTS) {
      const scope = scopeFor(endpoint, method);
      runtime.route(app, {
        method,
        url: `/api/v1/${endpoint}`,
        kind: 'api',
        identify,
        errorBody: apiErrorBody,
        handle(call, request, reply) {
          const failure = runtime.authenticate(call);
          if (failure) {
            reply.code(401);
            return apiErrorBody(401, FAILURE_MESSAGES[failure]);
          }
          if (!runtime.hasScope(call, scope)) {
            reply.code(403);
            return apiErrorBody(403, `The access token does not have the scope ${scope}`);
          }
          const input = (method === 'GET' ? request.query : request.body) as Input | undefined;
          const result = answer(desk, input ?? {});
          if (result instanceof DeskError) {
            reply.code(result.status);
            return apiErrorBody(result.status, result.message);
          }
          return result;
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
