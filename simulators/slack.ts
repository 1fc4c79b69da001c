// Slack: OAuth v2 install (authorize → code → oauth.v2.access, user token under authed_user), optional
// token rotation with single-use refresh tokens, the Web API's HTTP-200 {ok:false} errors, and SCIM v2
// user provisioning that needs the `admin` user scope.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ExpiringMap } from './expiring-map';
import { opaqueToken } from './opaque-token';
import { bearerToken, clientCredentials, field } from './request-credentials';
import { COMMON_SCENARIOS, DEMO_SECRET, type Scenario } from './scenario';
import { isPatchOp, scimError, scimErrorBody, serviceProviderConfig, SCIM_CONTENT_TYPE } from './scim';
import { isScimError, ScimDirectory } from './scim-directory';
import type { SimulatorOptions } from './simulator-options';
import { internScopes, splitScopes, type ScopeSet } from './scopes';
import type { TokenChain, TokenRecord } from './token-record';
import type { InstallTarget } from './control-input';
import type { VendorSimulator } from './vendor';
import type { Call, Caller, ErrorBody, RouteSpec, VendorRuntime } from './vendor-runtime';

const ADMIN_SCOPE = 'admin';
/** Scopes of pasted demo tokens (`xoxp-demo-…`); demo-missing-scopes lacks `admin`. */
const STATIC_SCOPES = internScopes([ADMIN_SCOPE, 'users:read', 'users:read.email']);
const STATIC_SCOPES_WITHOUT_ADMIN = internScopes(['users:read', 'users:read.email']);
const STATIC_TOKEN_PREFIX = 'xoxp-';
/** Slack's OAuth codes expire after ten minutes. */
const CODE_LIFETIME_SECONDS = 600;

const APP_ID = 'A0SIMULATOR';
const USER_ID = 'U0SIMADMIN';
const TEAM = { id: 'T0SIMULATOR', name: 'Simulated Workspace' };
const ENTERPRISE = { id: 'E0SIMULATOR', name: 'Simulated Grid Org' };
/** Unless the control API says otherwise, the admin installs on the whole Enterprise Grid organization. */
const ORG_INSTALL: InstallTarget = { isEnterpriseInstall: true, enterprise: ENTERPRISE, team: null };

const FAILURE_ERRORS = {
  missing: 'not_authed',
  invalid: 'invalid_auth',
  expired: 'token_expired',
  revoked: 'token_revoked',
} as const;

/** Web API errors are {ok:false, error}; only throttling and outages change the HTTP status. */
const webApiErrorBody: ErrorBody = (status) => {
  const errors: Record<number, string> = {
    400: 'invalid_arguments',
    401: 'invalid_auth',
    403: 'missing_scope',
    404: 'unknown_method',
    429: 'ratelimited',
    500: 'internal_error',
    503: 'service_unavailable',
  };
  return { ok: false, error: errors[status] ?? (status >= 500 ? 'fatal_error' : 'invalid_request') };
};

const slackError = (error: string) => ({ ok: false, error });

interface PendingCode {
  readonly expiresAt: number;
  readonly clientId: string;
  readonly scenario: Scenario;
  readonly userScopes: string[];
  readonly redirectUri: string;
  /** Where the admin chose to install, on the consent page. */
  readonly target: InstallTarget;
}

interface RefreshGrant {
  readonly expiresAt: number;
  /** The access token issued with it: when that was revoked (one by one or by revokeAll), so is this. */
  readonly issuedWith: TokenRecord;
  readonly chain: TokenChain;
  /** Where the install it renews went. */
  readonly target: InstallTarget;
}

export const slack: VendorSimulator = {
  name: 'slack',
  title: 'Slack (SCIM, user token with admin)',
  scenarios: [...COMMON_SCENARIOS, 'rotating', 'access-denied'],
  demo: (vendorUrl) => ({
    instanceUrl: vendorUrl,
    credentials: 'token=xoxp-demo-all-scopes, or OAuth client_id=demo-all-scopes client_secret=demo-secret',
  }),
  register(app, runtime, options) {
    const codes = new ExpiringMap<PendingCode>(0);
    const refreshGrants = new ExpiringMap<RefreshGrant>(0);
    runtime.onReset(() => {
      codes.clear();
      refreshGrants.clear();
    });

    /** Callers with a token: one the simulator issued, or a pasted `xoxp-demo-…` token. */
    const tokenCaller = (token: string | undefined): Caller =>
      token?.startsWith(`${STATIC_TOKEN_PREFIX}demo-`)
        ? runtime.staticTokenCaller(token, staticScopes, STATIC_TOKEN_PREFIX)
        : runtime.issuedTokenCaller(token);
    const webApiCaller = (request: FastifyRequest) =>
      tokenCaller(bearerToken(request) ?? field(request, 'token'));

    function issueAccessToken(
      clientId: string,
      scenario: Scenario,
      scopes: ScopeSet,
      chain: TokenChain,
      target: InstallTarget,
    ) {
      const accessToken = opaqueToken(`${STATIC_TOKEN_PREFIX}7000000001-7000000002-`);
      const lifetimeSeconds =
        scenario.kind === 'rotating' || scenario.kind === 'ttl' ? scenario.seconds : undefined;
      const issuedWith = runtime.issue(accessToken, {
        subject: clientId,
        scenario,
        scopes,
        lifetimeSeconds,
        chain,
      });
      if (scenario.kind !== 'rotating') return { access_token: accessToken };
      const refreshToken = opaqueToken('xoxe-1-');
      refreshGrants.set(refreshToken, { expiresAt: Infinity, issuedWith, chain, target });
      return { access_token: accessToken, refresh_token: refreshToken, expires_in: scenario.seconds };
    }

    // The consent page: being a simulator, it consents at once and redirects back.
    runtime.route(app, {
      method: 'GET',
      url: '/oauth/v2/authorize',
      kind: 'auth',
      identify(request) {
        const clientId = field(request, 'client_id');
        if (clientId === undefined) return { obtainsCredentials: false };
        return {
          credential: clientId,
          subject: clientId,
          scenario: runtime.scenarioOf(clientId),
          obtainsCredentials: false,
        };
      },
      errorBody: webApiErrorBody,
      handle(call, request, reply) {
        const redirectUri = field(request, 'redirect_uri');
        if (call.scenario === undefined) return plainText(reply, 400, 'Invalid client_id parameter');
        if (redirectUri === undefined || !URL.canParse(redirectUri)) {
          return plainText(
            reply,
            400,
            'redirect_uri is required (the simulator has no app configuration to take it from)',
          );
        }
        const callback = new URL(redirectUri);
        const state = field(request, 'state');
        if (state !== undefined) callback.searchParams.set('state', state);
        if (call.scenario.kind === 'access-denied') {
          callback.searchParams.set('error', 'access_denied');
          return reply.redirect(callback.toString(), 302);
        }
        const code = opaqueToken('7000000001.');
        codes.set(code, {
          expiresAt: Date.now() + CODE_LIFETIME_SECONDS * 1000,
          clientId: call.subject as string,
          scenario: call.scenario,
          userScopes: splitScopes(field(request, 'user_scope')),
          redirectUri,
          target: runtime.installTargetOf(call.subject as string) ?? ORG_INSTALL,
        });
        callback.searchParams.set('code', code);
        return reply.redirect(callback.toString(), 302);
      },
    });

    runtime.route(app, {
      method: ['GET', 'POST'],
      url: '/api/oauth.v2.access',
      kind: 'token',
      identify: (request) => runtime.clientCaller(request),
      errorBody: webApiErrorBody,
      handle(call, request) {
        const { clientId, clientSecret } = clientCredentials(request);
        if (clientId === undefined || call.scenario === undefined) return slackError('invalid_client_id');
        if (clientSecret !== DEMO_SECRET) return slackError('bad_client_secret');
        const grantType = field(request, 'grant_type') ?? 'authorization_code';
        if (grantType === 'refresh_token') return refresh(field(request, 'refresh_token'), clientId);
        if (grantType !== 'authorization_code') return slackError('unsupported_grant_type');
        return exchangeCode(call, clientId, field(request, 'code'), field(request, 'redirect_uri'));
      },
    });

    function exchangeCode(
      call: Call,
      clientId: string,
      code: string | undefined,
      redirectUri: string | undefined,
    ) {
      const pending = code === undefined ? undefined : codes.get(code);
      if (!pending || pending.clientId !== clientId || Date.now() >= pending.expiresAt)
        return slackError('invalid_code');
      if (redirectUri !== undefined && redirectUri !== pending.redirectUri)
        return slackError('bad_redirect_uri');
      codes.delete(code as string);
      const granted = pending.userScopes.filter(
        (scope) =>
          !call.droppedScopes.has(scope) &&
          !(pending.scenario.kind === 'missing-scopes' && scope === ADMIN_SCOPE),
      );
      // Without user scopes Slack issues no user token: authed_user carries only the id.
      const userToken =
        granted.length === 0
          ? {}
          : {
              scope: granted.join(','),
              token_type: 'user',
              ...issueAccessToken(
                clientId,
                pending.scenario,
                internScopes(granted),
                { revoked: false },
                pending.target,
              ),
            };
      const { isEnterpriseInstall, enterprise, team } = pending.target;
      return {
        ok: true,
        app_id: APP_ID,
        authed_user: { id: USER_ID, ...userToken },
        // Slack's shape: an org-wide install has no team; a workspace in Grid names its enterprise too.
        team,
        enterprise,
        is_enterprise_install: isEnterpriseInstall,
      };
    }

    // Refresh tokens are single-use: the old one is gone once exchanged, so reusing it is invalid_refresh_token.
    function refresh(refreshToken: string | undefined, clientId: string) {
      const grant = refreshToken === undefined ? undefined : refreshGrants.get(refreshToken);
      const previous = grant?.issuedWith;
      if (!grant || !previous || previous.subject !== clientId || runtime.isRevoked(previous)) {
        return slackError('invalid_refresh_token');
      }
      refreshGrants.delete(refreshToken as string);
      return {
        ok: true,
        app_id: APP_ID,
        authed_user: { id: USER_ID },
        scope: [...previous.scopes].join(','),
        token_type: 'user',
        ...issueAccessToken(clientId, previous.scenario, previous.scopes, grant.chain, grant.target),
        team: grant.target.team,
        enterprise: grant.target.enterprise,
        is_enterprise_install: grant.target.isEnterpriseInstall,
      };
    }

    runtime.route(app, {
      method: ['GET', 'POST'],
      url: '/api/auth.test',
      kind: 'api',
      identify: webApiCaller,
      errorBody: webApiErrorBody,
      handle(call, _request, reply) {
        const failure = runtime.authenticate(call);
        if (failure) return slackError(FAILURE_ERRORS[failure]);
        // Real Slack lists the token's scopes in this header on every Web API answer.
        reply.header('x-oauth-scopes', grantedScopes(call).join(','));
        return {
          ok: true,
          url: 'https://simulated.slack.com/',
          team: TEAM.name,
          user: 'sim-admin',
          team_id: TEAM.id,
          user_id: USER_ID,
          is_enterprise_install: false,
        };
      },
    });

    runtime.route(app, {
      method: ['GET', 'POST'],
      url: '/api/auth.revoke',
      kind: 'auth',
      identify: (request) => ({ ...webApiCaller(request), obtainsCredentials: false }),
      errorBody: webApiErrorBody,
      handle(call, request) {
        const failure = runtime.authenticate(call);
        if (failure) return slackError(FAILURE_ERRORS[failure]);
        const dryRun = ['1', 'true'].includes(field(request, 'test') ?? '');
        if (!dryRun && call.token) {
          // Revoking an installation's token ends the installation: its refresh token dies too.
          if (call.token.chain) call.token.chain.revoked = true;
          else call.token.revoked = true;
        }
        return { ok: true, revoked: !dryRun };
      },
    });

    registerScim(app, runtime, (request) => tokenCaller(bearerToken(request)), options);
  },
};

function staticScopes(scenario: Scenario): ScopeSet {
  return scenario.kind === 'missing-scopes' ? STATIC_SCOPES_WITHOUT_ADMIN : STATIC_SCOPES;
}

function grantedScopes(call: Call): string[] {
  return [...(call.token?.scopes ?? [])].filter((scope) => !call.droppedScopes.has(scope));
}

function plainText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(text);
}

/** SCIM v2 under /scim/v2: any valid token reads the configuration; users need the `admin` scope. */
function registerScim(
  app: Parameters<VendorSimulator['register']>[0],
  runtime: VendorRuntime,
  identify: RouteSpec['identify'],
  options: SimulatorOptions,
): void {
  // Limits for the whole organisation (this simulator plays one), on SCIM writes only: all of them, and
  // those that create, change or deactivate users.
  const writeLimit = options.slackScimWriteLimit ?? { requests: 600, windowSeconds: 60 };
  const writes = runtime.limiter('scim_writes', writeLimit);
  const userWriteLimit = options.slackScimUserWriteLimit ?? { requests: 180, windowSeconds: 60 };
  const userWrites = runtime.limiter('scim_user_writes', userWriteLimit);
  const directory = new ScimDirectory([
    {
      userName: 'sim-admin',
      displayName: 'Simulated Admin',
      emails: [{ value: 'admin@example.com', primary: true }],
    },
  ]);
  runtime.onReset(() => directory.reset());

  const scim = (
    method: RouteSpec['method'],
    url: string,
    needsAdmin: boolean,
    answer: (request: FastifyRequest, reply: FastifyReply) => unknown,
  ) =>
    runtime.route(app, {
      method,
      url: `/scim/v2${url}`,
      kind: 'api',
      identify,
      errorBody: scimErrorBody,
      handle(call, request, reply) {
        reply.type(SCIM_CONTENT_TYPE);
        const failure = runtime.authenticate(call);
        const refusal = failure
          ? scimError(401, `Authentication failed: ${FAILURE_ERRORS[failure]}`)
          : needsAdmin && !runtime.hasScope(call, ADMIN_SCOPE)
            ? scimError(403, 'The token does not have the admin scope')
            : throttled(request, reply);
        const body = refusal ?? answer(request, reply);
        if (isScimError(body)) reply.code(Number(body.status));
        return body;
      },
    });

  function throttled(request: FastifyRequest, reply: FastifyReply) {
    if (request.method === 'GET') return undefined;
    const allWrites = {
      limiter: writes,
      what: `${writeLimit.requests} SCIM writes per ${writeLimit.windowSeconds} seconds`,
    };
    const limiters = request.url.startsWith(`${app.prefix}/scim/v2/Users`)
      ? [
          allWrites,
          {
            limiter: userWrites,
            what: `${userWriteLimit.requests} SCIM user writes per ${userWriteLimit.windowSeconds} seconds`,
          },
        ]
      : [allWrites];
    // Counted by every limit, or refused by the first that is out (and then counted by none).
    const now = Date.now();
    const refusedBy = limiters.find(({ limiter }) => limiter.wait('org', now) !== undefined);
    if (!refusedBy) {
      for (const { limiter } of limiters) limiter.hit('org', now);
      return undefined;
    }
    reply.header('retry-after', String(refusedBy.limiter.hit('org', now)));
    return scimError(429, `Rate limit exceeded: ${refusedBy.what}`);
  }

  const userId = (request: FastifyRequest) => (request.params as { id: string }).id;
  scim('GET', '/ServiceProviderConfig', false, () =>
    serviceProviderConfig('https://docs.slack.dev/admins/scim-api'),
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
  // Slack's DELETE deactivates the user rather than removing it.
  scim('DELETE', '/Users/:id', true, (request, reply) => {
    const result = directory.deactivate(userId(request));
    if (isScimError(result)) return result;
    return reply.code(204).send();
  });
}
