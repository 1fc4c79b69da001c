// Slack: SCIM user provisioning with a user token (xoxp-) carrying the `admin` scope. Two ways to link, as
// two catalog ids so each has one plain credential form: `slack` takes a pasted token; `slack-grid` installs
// the customer's own OAuth app through Slack's consent page (on Enterprise Grid the token must come from an
// org-level install), with token rotation when the app has it on.
//
// Slack's addresses are fixed, never entered by the customer. The VendorEndpoints `slack.api`, `slack.scim`
// and `slack.authorize` override them (TETHER_SLACK_API_BASE_URL, TETHER_SLACK_SCIM_BASE_URL,
// TETHER_SLACK_AUTHORIZE_URL) so tests and the demo reach the simulator.
import { z } from 'zod';
import { postTokenForm, tokensFrom } from '../vendor-kit/oauth-install';
import { scimUserOperations } from '../vendor-kit/scim';
import type { RateLimitRule, RequestLine } from '../vendor-kit/rate-limits';
import { classifiedBodyError, parseJson, throwIfUnavailable } from '../vendor-kit/vendor-responses';
import { VendorError } from '../vendor-kit/vendor-error';
import { hostIsUnder } from '../vendor-kit/instance-url';
import { trimTrailingSlashes } from '../vendor-kit/url-policy';
import { answerString, answerWords } from '../vendor-kit/answer-fields';
import { FailureType } from '../domain/failures';
import type {
  BodyError,
  BodyErrorKind,
  InstallTarget,
  OAuthInstallAuth,
  Probe,
  RevokeSpec,
  ScopeRequirement,
  VendorContext,
  VendorDefinition,
  VendorEndpoints,
} from '../vendor-kit/definition';

const PRODUCTION = {
  'slack.api': 'https://slack.com/api',
  'slack.scim': 'https://api.slack.com/scim/v2',
  'slack.authorize': 'https://slack.com/oauth/v2/authorize',
} as const;

const endpoint = (ctx: Pick<VendorContext, 'endpoints'>, name: keyof typeof PRODUCTION) =>
  trimTrailingSlashes(ctx.endpoints?.[name] ?? PRODUCTION[name]);

/** Slack's endpoints as one host serves them (the simulator's layout under `/slack`): tests and the demo. */
export function slackEndpointsAt(baseUrl: string): VendorEndpoints {
  return {
    'slack.api': `${baseUrl}/api`,
    'slack.scim': `${baseUrl}/scim/v2`,
    'slack.authorize': `${baseUrl}/oauth/v2/authorize`,
  };
}

/** Web API errors (HTTP 200, {ok:false, error}) Tether acts on; any other is a setup Slack will not accept. */
const WEB_API_ERRORS: Record<string, [BodyErrorKind, string]> = {
  not_authed: ['credentials', 'no token was sent'],
  invalid_auth: ['credentials', 'the token is not valid'],
  token_revoked: ['credentials', 'the token was revoked'],
  token_expired: ['credentials', 'the token expired'],
  account_inactive: ['credentials', 'the token belongs to a deactivated user or workspace'],
  invalid_client_id: ['credentials', 'the client id is unknown'],
  bad_client_secret: ['credentials', 'the client secret is wrong'],
  invalid_code: [
    'credentials',
    'the authorization code is invalid, expired or used: start the install again',
  ],
  invalid_refresh_token: ['credentials', 'the refresh token is invalid or already used'],
  bad_redirect_uri: ['configuration', "the redirect URI is not among the app's Redirect URLs"],
  missing_scope: ['permission', 'the token lacks a scope this method needs'],
  ratelimited: ['rate_limited', 'too many requests'],
  internal_error: ['unavailable', 'Slack failed'],
  fatal_error: ['unavailable', 'Slack failed'],
  service_unavailable: ['unavailable', 'Slack is unavailable'],
  request_timeout: ['unavailable', 'Slack timed out'],
};

function webApiError(body: unknown): BodyError | null {
  if (!isRecord(body) || body.ok !== false) return null;
  const code = answerWords(body.error, 64) ?? 'unknown_error';
  const [kind, meaning] = WEB_API_ERRORS[code] ?? ['configuration', 'Slack refused the request'];
  // missing_scope says which scope the method needed.
  const needed = answerWords(body.needed);
  return { code, message: needed ? `${meaning} (${needed})` : meaning, kind };
}

/** SCIM errors (RFC 7644) carry `detail`; Web API errors their code. */
function errorMessage(body: unknown): string | null {
  if (isRecord(body) && typeof body.detail === 'string') return body.detail;
  const error = webApiError(body);
  return error ? `${error.code}: ${error.message}` : null;
}

const scopes: ScopeRequirement[] = [
  { scope: 'admin', purpose: 'provision users through SCIM: create, update and deactivate Slack accounts' },
];

const scimBase = (ctx: VendorContext) => endpoint(ctx, 'slack.scim');

// Slack's SCIM API takes PATCH; its writes are rate-limited org-wide (429 with Retry-After), which jobs honour.
const operations = scimUserOperations({ baseUrl: scimBase, patch: true });

// Slack's SCIM limits are per organisation (one connection is one org): writes 600 a minute with bursts,
// user creates, updates and deactivations 180 a minute. Reads (1,000 a minute) stay well above what writes allow.
const isScimWrite = (request: RequestLine, ctx: VendorContext) =>
  request.method !== 'GET' && request.url.startsWith(`${scimBase(ctx)}/`);
const rateLimits: RateLimitRule[] = [
  {
    class: 'scim_writes',
    limit: { requests: 600, windowSeconds: 60, burst: 20 },
    description: 'SCIM writes: 600 per minute per organisation, with bursts',
    appliesTo: isScimWrite,
  },
  {
    class: 'scim_user_writes',
    limit: { requests: 180, windowSeconds: 60, burst: 10 },
    description: 'SCIM user creates, updates and deactivations: 180 per minute per organisation',
    appliesTo: (request, ctx) =>
      isScimWrite(request, ctx) && request.url.startsWith(`${scimBase(ctx)}/Users`),
  },
];

const probes: Probe[] = [
  // Whether the token works at all: a dead one answers HTTP 200 {ok:false, error:"invalid_auth"}.
  { id: 'auth.test', method: 'POST', path: '/auth.test', proves: [], health: true },
  // SCIM is on (Business+ or Enterprise Grid); any valid token may read it.
  { id: 'scim-config', method: 'GET', path: '/ServiceProviderConfig', proves: [], baseUrl: scimBase },
  { id: 'scim-users', method: 'GET', path: '/Users?count=1', proves: ['admin'], baseUrl: scimBase },
];

/** auth.revoke ends the token and, for an installed app, the whole install (its refresh token too). */
async function revokeToken(ctx: VendorContext, token: string | undefined | null): Promise<void> {
  // Never installed: nothing to revoke.
  if (!token) return;
  const url = `${endpoint(ctx, 'slack.api')}/auth.revoke`;
  const host = new URL(url).host;
  const res = await ctx.http.send({ method: 'POST', url, headers: { authorization: `Bearer ${token}` } });
  throwIfUnavailable(res, host, slack);
  if (res.status !== 200) {
    throw new VendorError(
      FailureType.InvalidConfiguration,
      `${host} answered HTTP ${res.status} on auth.revoke`,
    );
  }
  const error = webApiError(parseJson(res, 'auth.revoke', host));
  // A token Slack no longer accepts is already dead, which is what revoking wanted.
  if (!error || error.kind === 'credentials') return;
  const message = `${host} refused auth.revoke: ${error.code}: ${error.message}`;
  throw (
    classifiedBodyError(error, message, FailureType.InvalidCredentials, res) ??
    new VendorError(FailureType.InvalidConfiguration, message)
  );
}

const revoke: RevokeSpec = {
  supported: true,
  revoke: (ctx, credentials, accessToken) => revokeToken(ctx, accessToken ?? credentials.token),
};

const shared = {
  docsUrl: 'https://api.slack.com/scim',
  instanceUrl: {
    label: 'Slack',
    example: 'https://slack.com',
    default: 'https://slack.com',
    help: "Leave empty: Slack's addresses are fixed.",
    fixed: true,
  },
  settings: z.object({}).strict(),
  scopes,
  probes,
  revoke,
  operations,
  rateLimits,
  hooks: {
    // Slack's addresses are fixed: a workspace address (acme.slack.com) means Slack itself; others are not Slack.
    normaliseInstanceUrl: (url: URL) =>
      hostIsUnder(url, ['slack.com'])
        ? 'https://slack.com'
        : { error: "Slack's addresses are fixed: leave the field out" },
    errorInBody: webApiError,
    errorMessage,
    apiBaseUrl: (ctx: VendorContext) => endpoint(ctx, 'slack.api'),
    otherApiBaseUrls: (ctx: VendorContext) => ({ scim: scimBase(ctx) }),
  },
} satisfies Partial<VendorDefinition>;

export const slack: VendorDefinition = {
  ...shared,
  id: 'slack',
  name: 'Slack (pasted user token)',
  shortName: 'Slack',
  description:
    'A user token (xoxp-) with the admin scope, pasted by the customer, for SCIM. Never expires; checked periodically with auth.test; revoked with auth.revoke.',
  auth: { kind: 'static_bearer' },
  credentials: z
    .object({
      token: z
        .string()
        .trim()
        .max(4096)
        .regex(/^xoxp-./, 'a user token starts with xoxp- (bot tokens, xoxb-, cannot use SCIM)')
        .meta({ title: 'User OAuth Token', format: 'password' })
        .describe('User OAuth Token (xoxp-…) with the admin scope'),
    })
    .strict(),
  setupSteps: [
    'SCIM needs a Slack Business+ or Enterprise Grid plan. On Enterprise Grid, prefer the slack-grid connector: the token must come from an org-level install.',
    'At https://api.slack.com/apps, create an app (From scratch) for Tether.',
    'Under OAuth & Permissions → Scopes → User Token Scopes, add admin. Leave token rotation off: a pasted rotating token dies after 12 hours.',
    'Install the app as a Workspace Primary Owner or Admin (Enterprise Grid: an Org Owner or Admin, at the organization level).',
    'Copy the User OAuth Token (xoxp-…) and paste it here; leave the URL empty.',
  ],
  grantPermissions:
    'At https://api.slack.com/apps, open your app → OAuth & Permissions → User Token Scopes, add the missing scope, install the app again, and enter the new User OAuth Token.',
};

/** An `{id, name}` of `host`'s answer (`enterprise`, `team`), or null. */
function place(value: unknown, field: string, host: string): { id: string; name: string | null } | null {
  if (!isRecord(value)) return null;
  const id = answerString(value.id, 'id', `${field}.id`, host);
  if (!id) return null;
  return { id, name: answerString(value.name, 'name', `${field}.name`, host) };
}

/** Where oauth.v2.access says the app went: the whole Enterprise Grid organization, or one workspace. */
function installedOn(body: Record<string, unknown>, host: string): InstallTarget {
  const organization = place(body.enterprise, 'enterprise', host);
  return body.is_enterprise_install === true
    ? { level: 'organization', organization, workspace: null }
    : { level: 'workspace', organization, workspace: place(body.team, 'team', host) };
}

const oauthAccessUrl = (ctx: VendorContext) => `${endpoint(ctx, 'slack.api')}/oauth.v2.access`;

const named = (p: { id: string; name: string | null }) => (p.name ? `${p.name} (${p.id})` : p.id);

/**
 * SCIM on Enterprise Grid works only with a token from an org-level install, so a workspace-level install
 * inside a Grid organization is refused; and a connection stays with the organization (or, off Grid, the
 * workspace) of its first install: a reinstall elsewhere would silently provision another company's users.
 */
function refuseInstall(to: InstallTarget | null, previous: InstallTarget | null): string | null {
  if (!to) return null;
  if (to.level === 'workspace' && to.organization) {
    const workspace = to.workspace ? ` ${named(to.workspace)}` : '';
    return `Slack installed the app on the workspace${workspace} of the Enterprise Grid organization ${named(to.organization)}, but SCIM on Enterprise Grid needs an org-level install. In the app's settings, opt it in under Org Level Apps; then start the install again and, as an Org Owner or Admin, choose the organization, not a workspace, on Slack's consent page.`;
  }
  if (!previous) return null;
  const was = previous.organization ?? previous.workspace;
  const now = to.organization ?? to.workspace;
  if (!was || !now || was.id === now.id) return null;
  const kind = previous.organization ? 'Enterprise Grid organization' : 'workspace';
  return `this connection belongs to the ${kind} ${named(was)}, but the app was installed on ${named(now)}: install it on ${named(was)}, or link a new connection for ${named(now)}`;
}

/** The customer's app, installed by their admin; its client id and secret are the connection's credentials. */
const installAuth: OAuthInstallAuth = {
  kind: 'oauth2_install',
  authorizeUrl(ctx, { clientId, redirectUri, state, scopes: wanted }) {
    const url = new URL(endpoint(ctx, 'slack.authorize'));
    url.searchParams.set('client_id', clientId);
    // User scopes: SCIM needs the installing admin's token, not a bot token.
    url.searchParams.set('user_scope', wanted.join(','));
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('state', state);
    return url.toString();
  },
  async exchangeCode(ctx, client, { code, redirectUri }) {
    const url = oauthAccessUrl(ctx);
    const host = new URL(url).host;
    const body = await postTokenForm(slackGrid, ctx, url, {
      client_id: client.clientId,
      client_secret: client.clientSecret,
      code,
      redirect_uri: redirectUri,
    });
    // The user token is under authed_user (the top level is for bot tokens, which Tether never asks for).
    return { ...tokensFrom(body.authed_user, host), installedOn: installedOn(body, host) };
  },
  async refreshToken(ctx, client, refreshToken) {
    const url = oauthAccessUrl(ctx);
    const body = await postTokenForm(slackGrid, ctx, url, {
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    // A refreshed user token comes back at the top level, with the next refresh token.
    return tokensFrom(body, new URL(url).host);
  },
  refuseInstall,
};

export const slackGrid: VendorDefinition = {
  ...shared,
  id: 'slack-grid',
  name: 'Slack (install your OAuth app; Enterprise Grid org-level)',
  shortName: 'Slack',
  description:
    "Your Slack app, installed by an admin through Slack's consent page (org-level on Enterprise Grid), gives a user token with the admin scope for SCIM. With token rotation on, the 12-hour tokens are renewed before expiry.",
  auth: installAuth,
  credentials: z
    .object({
      clientId: z
        .string()
        .trim()
        .min(1)
        .max(256)
        .meta({ title: 'Client ID' })
        .describe("Your Slack app's Client ID"),
      clientSecret: z
        .string()
        .min(1)
        .max(1024)
        .meta({ title: 'Client Secret', format: 'password' })
        .describe("Your Slack app's Client Secret"),
    })
    .strict(),
  setupSteps: [
    'SCIM needs a Slack Business+ or Enterprise Grid plan.',
    'At https://api.slack.com/apps, create an app (From scratch) for Tether.',
    'Under OAuth & Permissions, add the Redirect URL <TETHER_PUBLIC_URL>/v1/oauth/callback and the User Token Scope admin (no bot scopes).',
    'Enterprise Grid: under Org Level Apps, opt the app in so it can be installed on the organization.',
    'Optional: turn on token rotation (OAuth & Permissions → Advanced token security); Tether then renews the 12-hour tokens with their single-use refresh tokens.',
    'Paste the Client ID and Client Secret (Basic Information → App Credentials) here; leave the URL empty.',
    "Install the app: open Slack's consent page as an Org Owner or Admin (workspace: Primary Owner or Admin) within 10 minutes and allow the install. The connect page opens it for you; over the API, POST /v1/connections/{id}/install returns it as authorizeUrl.",
  ],
  grantPermissions:
    'At https://api.slack.com/apps, open your app → OAuth & Permissions → User Token Scopes, add the missing scope, then install the app again (an Org Owner or Admin approves it).',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
