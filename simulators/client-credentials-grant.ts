// The OAuth2 client-credentials token endpoint shared by InvGate, HaloITSM and NinjaOne; each supplies its
// quirks (scope rules, token format, how a bad client is refused) as a policy.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { oauthError, type OAuthError } from './oauth-errors';
import { clientCredentials, field } from './request-credentials';
import { DEMO_SECRET, lifetimeSeconds, type Scenario } from './scenario';
import { internScopes, splitScopes } from './scopes';
import type { Call, VendorRuntime } from './vendor-runtime';

export interface ClientCredentialsPolicy {
  /** Token lifetime unless the scenario sets one. */
  defaultLifetimeSeconds: number;
  /** The scopes granted for those requested, or an OAuth error that refuses the request (HTTP 400). */
  grantScopes(requested: string[], scenario: Scenario): string[] | OAuthError;
  /** Answer for an unknown client_id or a wrong secret. */
  rejectClient(reply: FastifyReply, description: string): unknown;
  /** The token string and the key it is stored under. */
  mint(grant: { clientId: string; scopes: string[]; lifetimeSeconds: number }): {
    token: string;
    key: string;
  };
  /** Whether the answer carries the granted `scope` string (InvGate's does not: it is in the JWT). */
  reportsScope: boolean;
}

export function clientCredentialsGrant(
  runtime: VendorRuntime,
  policy: ClientCredentialsPolicy,
  call: Call,
  request: FastifyRequest,
  reply: FastifyReply,
): unknown {
  const grantType = field(request, 'grant_type');
  if (grantType !== 'client_credentials') {
    reply.code(400);
    return grantType === undefined
      ? oauthError('invalid_request', 'grant_type is required')
      : oauthError('unsupported_grant_type', `grant_type ${grantType} is not supported`);
  }
  const { clientId, clientSecret } = clientCredentials(request);
  if (clientId === undefined || call.scenario === undefined || clientSecret !== DEMO_SECRET) {
    return policy.rejectClient(reply, 'Client authentication failed');
  }
  const granted = policy.grantScopes(splitScopes(field(request, 'scope')), call.scenario);
  if (!Array.isArray(granted)) {
    reply.code(400);
    return granted;
  }
  const scopes = granted.filter((scope) => !call.droppedScopes.has(scope));
  const lifetime = lifetimeSeconds(call.scenario, policy.defaultLifetimeSeconds);
  const { token, key } = policy.mint({ clientId, scopes, lifetimeSeconds: lifetime });
  runtime.issue(key, {
    subject: clientId,
    scenario: call.scenario,
    scopes: internScopes(scopes),
    lifetimeSeconds: lifetime,
  });
  reply.header('cache-control', 'no-store');
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: lifetime,
    ...(policy.reportsScope ? { scope: scopes.join(' ') } : {}),
  };
}
