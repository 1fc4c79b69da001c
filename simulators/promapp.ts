// Nintex Promapp (Process Manager): a static SCIM bearer token created in the vendor's UI; no token endpoint,
// no refresh, no revocation API. SCIM base /api/scim; deprovisioning disables the user.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken } from './request-credentials';
import { COMMON_SCENARIOS } from './scenario';
import { isPatchOp, scimError, scimErrorBody, serviceProviderConfig, SCIM_CONTENT_TYPE } from './scim';
import { isScimError, ScimDirectory } from './scim-directory';
import { internScopes, NO_SCOPES } from './scopes';
import type { VendorSimulator } from './vendor';
import type { Call, RouteSpec, VendorRuntime } from './vendor-runtime';

/** Promapp tokens have one scope, "SCIM"; demo-missing-scopes stands for a token created with another one. */
const SCIM_SCOPE = 'SCIM';
const SCIM_SCOPES = internScopes([SCIM_SCOPE]);

const FAILURE_MESSAGES = {
  missing: 'Authorization header with a bearer token is required',
  invalid: 'The access token is invalid',
  expired: 'The access token has expired',
  revoked: 'The access token has been revoked',
} as const;

export const promapp: VendorSimulator = {
  name: 'promapp',
  title: 'Nintex Promapp (SCIM)',
  scenarios: COMMON_SCENARIOS,
  demo: (vendorUrl) => ({ instanceUrl: `${vendorUrl}/api/scim`, credentials: 'token=demo-all-scopes' }),
  register(app, runtime) {
    const directory = new ScimDirectory([
      { userName: 'promaster@example.com', name: { givenName: 'Pat', familyName: 'Promaster' } },
    ]);
    runtime.onReset(() => directory.reset());

    const scim = (
      method: RouteSpec['method'],
      url: string,
      needsScope: boolean,
      answer: (request: FastifyRequest, reply: FastifyReply) => unknown,
    ) =>
      runtime.route(app, {
        method,
        url: `/api/scim${url}`,
        kind: 'api',
        identify: (request) =>
          runtime.staticTokenCaller(bearerToken(request), (s) =>
            s.kind === 'missing-scopes' ? NO_SCOPES : SCIM_SCOPES,
          ),
        errorBody: scimErrorBody,
        handle(call, request, reply) {
          reply.type(SCIM_CONTENT_TYPE);
          const refusal = authorize(runtime, call, needsScope);
          if (refusal) {
            reply.code(Number(refusal.status));
            return refusal;
          }
          const body = answer(request, reply);
          if (isScimError(body)) reply.code(Number(body.status));
          return body;
        },
      });

    // Any valid token may read the configuration; user endpoints need the SCIM scope.
    scim('GET', '/ServiceProviderConfig', false, () =>
      serviceProviderConfig('https://help.nintex.com/en-US/promapp/'),
    );
    scim('GET', '/Users', true, (request) => directory.list(request.query as Record<string, string>));
    scim(
      'GET',
      '/Users/:id',
      true,
      (request) => directory.get(userId(request)) ?? scimError(404, 'User not found'),
    );
    scim('POST', '/Users', true, (request, reply) => {
      const created = directory.create(request.body);
      if (!isScimError(created)) reply.code(201);
      return created;
    });
    scim('PATCH', '/Users/:id', true, (request) =>
      isPatchOp(request.body)
        ? directory.patch(userId(request), request.body.Operations)
        : scimError(400, 'Body must be a SCIM PatchOp', 'invalidSyntax'),
    );
  },
};

function userId(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}

function authorize(runtime: VendorRuntime, call: Call, needsScope: boolean) {
  const failure = runtime.authenticate(call);
  if (failure) return scimError(401, FAILURE_MESSAGES[failure]);
  if (needsScope && !runtime.hasScope(call, SCIM_SCOPE)) {
    return scimError(403, 'The access token does not have the SCIM scope');
  }
  return undefined;
}
