import { z } from 'zod';
import { parseJson, throwIfUnavailable } from '../vendor-kit/vendor-responses';
import { VendorError } from '../vendor-kit/vendor-error';
import { FailureType } from '../domain/failures';
import { readSettings, scopesSetting } from '../vendor-kit/settings';
import { everyRequest } from '../vendor-kit/rate-limits';
import type { ScopeRequirement, VendorContext, VendorDefinition } from '../vendor-kit/definition';
import { hostIsUnder, originOnly, pathBefore, type InstanceUrlNormaliser } from '../vendor-kit/instance-url';
import { answerString } from '../vendor-kit/answer-fields';
import { trimTrailingSlashes } from '../vendor-kit/url-policy';
import { ticketOperations, USER_LOOKUP_SCOPE } from './halo-tickets';

const scopes: ScopeRequirement[] = [
  { scope: 'read:tickets', purpose: 'read tickets, to find requests already raised for a user' },
  { scope: 'edit:tickets', purpose: 'create and update tickets, to submit requests' },
  {
    scope: 'read:assets',
    purpose: "read assets, to attach a user's devices to their requests",
    optional: true,
  },
  // Halo files users under customers; without it a ticket's user is given by id (catalog/README.md).
  {
    scope: USER_LOOKUP_SCOPE,
    purpose: "read users, to find a ticket's user by email (without it, create_ticket takes the user's id)",
    optional: true,
  },
];

const settings = z
  .object({
    clientAuth: z
      .enum(['body', 'basic'])
      .default('body')
      .meta({ title: 'Client authentication' })
      .describe('How the client id and secret are sent to the token endpoint: form body, or HTTP Basic.'),
    scopes: scopesSetting(scopes).meta({ title: 'Scopes to request' }),
  })
  .strict();

/**
 * The token endpoint, from the instance's auth discovery: `{auth_url}/token`, plus `?tenant=` where the
 * instance names one (hosted cloud). Instances without discovery use the default `{instance}/auth/token`.
 * The client secret is posted there, so it must be on the instance's own host, or on one the deployment
 * allows (`halo.authHosts`: TETHER_HALO_AUTH_HOSTS).
 */
async function tokenUrl(ctx: VendorContext): Promise<string> {
  const url = `${ctx.instanceUrl}/api/authinfo`;
  const host = new URL(url).host;
  const res = await ctx.http.send({ method: 'GET', url });
  throwIfUnavailable(res, host, halo);
  if (res.status === 404) return `${ctx.instanceUrl}/auth/token`;
  if (res.status !== 200) {
    throw new VendorError(
      FailureType.InvalidConfiguration,
      `${host} answered HTTP ${res.status} on /api/authinfo`,
    );
  }
  const info = parseJson(res, '/api/authinfo', host) as { auth_url?: unknown; tenant_id?: unknown } | null;
  const authUrl = answerString(info?.auth_url, 'url', 'auth_url', host) || `${ctx.instanceUrl}/auth`;
  let token: URL;
  try {
    token = new URL(`${trimTrailingSlashes(authUrl)}/token`);
  } catch {
    throw new VendorError(
      FailureType.InvalidConfiguration,
      `${host} answered /api/authinfo with an invalid auth_url`,
    );
  }
  if (token.host !== host && !allowedAuthHosts(ctx).has(token.host)) {
    throw new VendorError(
      FailureType.InvalidConfiguration,
      `${host} answered /api/authinfo with an auth_url on another host (${token.host}): the client secret is sent only to the instance's own host or to a host this deployment allows (TETHER_HALO_AUTH_HOSTS)`,
    );
  }
  const tenant = info?.tenant_id;
  const tenantId =
    typeof tenant === 'number' ? String(tenant) : answerString(tenant, 'id', 'tenant_id', host);
  if (tenantId) token.searchParams.set('tenant', tenantId);
  return token.toString();
}

/** Hosts other than the instance's that may serve its token endpoint (host[:port], comma-separated). */
function allowedAuthHosts(ctx: VendorContext): Set<string> {
  const listed = ctx.endpoints?.['halo.authHosts'] ?? '';
  return new Set(
    listed
      .split(',')
      .map((entry) => entry.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * The instance without `/api` or `/auth` (people paste the resource server or the token URL too); hosted
 * instances serve everything at the root, so a pasted browser address is the instance itself.
 */
const instanceBase: InstanceUrlNormaliser = (url) =>
  hostIsUnder(url, ['haloitsm.com', 'halopsa.com', 'haloservicedesk.com'])
    ? originOnly(url)
    : pathBefore(url, ['api', 'auth']);

/** Halo's error bodies differ by layer: throttling, exceptions, authorization, OAuth. */
function errorMessage(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : null);
  const throttled = text(b.errorMessage);
  if (throttled) {
    return b.resultCode === undefined ? throttled : `${throttled} (resultCode ${String(b.resultCode)})`;
  }
  const message = text(b.Message);
  if (message) return text(b.ClassName) ? `${message} (${String(b.ClassName)})` : message;
  const error = text(b.error);
  if (error) return text(b.error_description) ? `${error}: ${String(b.error_description)}` : error;
  return null;
}

// Call volume, against hosted Halo's 300 requests per rolling 5 minutes per client: a link or rotation
// makes 5 requests (authinfo, token, 3 probes); an hourly re-grant 2 (authinfo, token: the granted
// `scope` string is checked, no probes). Everything else the product does shares the same budget.
export const halo: VendorDefinition = {
  id: 'halo',
  name: 'HaloITSM',
  description:
    'OAuth2 client credentials (an API application of type "Client ID and Secret (Services)"), token endpoint found through /api/authinfo, explicit scopes. Uses 5 requests to link and 2 per hourly renewal, of hosted Halo\'s 300 per 5 minutes.',
  docsUrl: 'https://haloitsm.com/guides/article/?kbid=1499',
  auth: {
    kind: 'oauth2_client_credentials',
    tokenUrl,
    clientAuth: (ctx) =>
      readSettings(settings, ctx).clientAuth === 'basic' ? 'client_secret_basic' : 'client_secret_post',
    grantedScopesFrom: 'scope_field',
    defaultExpiresInSeconds: 3600,
  },
  instanceUrl: {
    label: 'HaloITSM URL',
    example: 'https://acme.haloitsm.com',
    help: 'The address you use to sign in to HaloITSM (e.g. https://acme.haloitsm.com), without /api or /auth.',
  },
  credentials: z
    .object({
      clientId: z
        .string()
        .trim()
        .min(1)
        .max(256)
        .meta({ title: 'Client ID' })
        .describe('Client ID of the Halo API application'),
      clientSecret: z
        .string()
        .min(1)
        .max(1024)
        .meta({ title: 'Client Secret', format: 'password' })
        .describe('Client Secret of the Halo API application'),
    })
    .strict(),
  settings,
  scopes,
  // Effective permission is the application's ∩ its agent's, so probes check what the token can really do.
  // The identity probe comes first: it tells a dead token (401 there) from a missing permission (401 after).
  // edit:tickets has no safe probe: it is verified from the granted `scope` string only.
  probes: [
    { id: 'agent-me', method: 'GET', path: '/api/agent/me', proves: [], health: true },
    {
      id: 'tickets',
      method: 'GET',
      path: '/api/tickets?page_size=1',
      proves: ['read:tickets'],
      unauthorizedMeansDenied: true,
    },
    {
      id: 'assets',
      method: 'GET',
      path: '/api/asset?page_size=1',
      proves: ['read:assets'],
      unauthorizedMeansDenied: true,
    },
  ],
  revoke: {
    supported: false,
    instructions:
      'HaloITSM has no documented token revocation endpoint; its tokens expire within an hour. Tether wiped its copy of the secret; to stop the application itself, open Configuration → Integrations → HaloITSM API → View Applications and delete the Tether application (or change its secret).',
  },
  setupSteps: [
    'In HaloITSM, open Configuration → Integrations → HaloITSM API, click View Applications, then New.',
    'Name the application (e.g. Tether) and set Authentication Method to "Client ID and Secret (Services)".',
    'Set Login Type to "Agent" and choose the agent to log in as: the application can never do more than that agent.',
    'On the Permissions tab, tick read:tickets and edit:tickets, and read:assets and read:customers unless you leave them out of "Scopes to request" (settings.scopes). Save.',
    'Copy the Client ID and the Client Secret, and paste them here with your HaloITSM URL (e.g. https://acme.haloitsm.com).',
    'Leave "Client authentication" (settings.clientAuth) as "body" unless your instance only accepts the client credentials as HTTP Basic.',
  ],
  operations: ticketOperations({ hooks: { errorMessage } }),
  grantPermissions:
    'In HaloITSM, open Configuration → Integrations → HaloITSM API → View Applications, open the Tether application, tick the missing permission on its Permissions tab and save. The agent it logs in as must be allowed the same.',
  // Hosted HaloITSM counts every request of a client, token requests included.
  rateLimits: [
    everyRequest(
      { requests: 300, windowSeconds: 300, burst: 10 },
      'every request, token requests included: 300 per rolling 5 minutes per client',
    ),
  ],
  hooks: {
    normaliseInstanceUrl: instanceBase,
    errorMessage,
    chosenScopes: (ctx) => readSettings(settings, ctx).scopes,
  },
};
