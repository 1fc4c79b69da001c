import { z } from 'zod';
import { revokeAccessToken } from '../vendor-kit/token-grant';
import { readSettings, scopesSetting } from '../vendor-kit/settings';
import type {
  ClientCredentials,
  OAuthClientCredentialsAuth,
  ScopeRequirement,
  VendorDefinition,
} from '../vendor-kit/definition';
import { hostIsUnder, originOnly, pathBefore, type InstanceUrlNormaliser } from '../vendor-kit/instance-url';
import { endUserOperations } from './ninjaone-end-users';

const REGIONS = ['app', 'us2', 'eu', 'ca', 'oc'] as const;
const regionUrl = (region: string) => `https://${region}.ninjarmm.com`;

const scopes: ScopeRequirement[] = [
  { scope: 'monitoring', purpose: 'read organizations, devices and users (and check the connection)' },
  // Optional for the connection, needed by create_end_user and delete_end_user (their `scopes`).
  {
    scope: 'management',
    purpose: 'create and delete end users (create_end_user, delete_end_user)',
    optional: true,
  },
  { scope: 'control', purpose: 'remote access to devices', optional: true },
];

const settings = z
  .object({
    region: z
      .enum(REGIONS)
      .default('app')
      .meta({ title: 'Region' })
      .describe(
        'Your NinjaOne region: app (North America), us2, eu, ca or oc. Sets the instance URL https://<region>.ninjarmm.com unless you give one.',
      ),
    scopes: scopesSetting(scopes, {
      offline_access:
        'offline_access is never requested: NinjaOne (EU region) refuses it with client credentials, and Tether re-grants tokens instead of refreshing them',
    }).meta({ title: 'Scopes to request' }),
  })
  .strict();

/** Regional instances serve the API at the root (a pasted dashboard address is the instance); else before `/v2`, `/ws`. */
const instanceBase: InstanceUrlNormaliser = (url) =>
  hostIsUnder(url, ['ninjarmm.com']) ? originOnly(url) : pathBefore(url, ['v2', 'ws']);

const auth: OAuthClientCredentialsAuth = {
  kind: 'oauth2_client_credentials',
  tokenUrl: (ctx) => `${ctx.instanceUrl}/ws/oauth/token`,
  clientAuth: 'client_secret_post',
  grantedScopesFrom: 'scope_field',
  // No refresh token with client credentials: the workflow re-grants before the hour is up.
  defaultExpiresInSeconds: 3600,
};

export const ninjaone: VendorDefinition = {
  id: 'ninjaone',
  name: 'NinjaOne',
  description:
    'OAuth2 client credentials (an "API Services (machine-to-machine)" client app), scopes monitoring/management/control, one-hour tokens re-granted, revocation supported.',
  docsUrl: 'https://www.ninjaone.com/docs/application-programming-interface-api/oauth-token-configuration',
  auth,
  instanceUrl: {
    label: 'NinjaOne instance URL',
    example: 'https://eu.ninjarmm.com',
    default: regionUrl('app'),
    help: 'Leave empty to use your region (settings.region: app, us2, eu, ca, oc → https://<region>.ninjarmm.com); give a URL only for another instance.',
  },
  credentials: z
    .object({
      clientId: z
        .string()
        .trim()
        .min(1)
        .max(256)
        .meta({ title: 'Client ID' })
        .describe('Client ID of the NinjaOne client app'),
      clientSecret: z
        .string()
        .min(1)
        .max(1024)
        .meta({ title: 'Client Secret', format: 'password' })
        .describe('Client Secret of the NinjaOne client app (shown once)'),
    })
    .strict(),
  settings,
  scopes,
  probes: [
    {
      id: 'organizations',
      method: 'GET',
      path: '/v2/organizations?pageSize=1',
      proves: ['monitoring'],
      health: true,
    },
  ],
  revoke: {
    supported: true,
    // RFC 7009 endpoint listed in /.well-known/oauth-authorization-server. There is no refresh token, so the
    // access token is all there is to revoke.
    revoke: (ctx, credentials, accessToken) =>
      revokeAccessToken(
        ninjaone,
        auth,
        ctx,
        `${ctx.instanceUrl}/ws/oauth/revoke`,
        credentials as unknown as ClientCredentials,
        accessToken,
      ),
  },
  setupSteps: [
    'In NinjaOne, open Administration → Apps → API, tab Client App IDs, and click Add client app.',
    'Set Application Platform to "API Services (machine-to-machine)" and name it (e.g. Tether); leave Redirect URIs empty.',
    'Under Scopes, tick Monitoring, and Management and Control unless you leave them out of "Scopes to request" (settings.scopes).',
    'Under Allowed Grant Types, select Client Credentials only, then Save.',
    'Copy the Client Secret now (NinjaOne shows it once) and the Client ID, and paste them here.',
    'Choose your "Region" (settings.region: app, us2, eu, ca or oc); give an instance URL only if yours is not https://<region>.ninjarmm.com.',
  ],
  // Its error bodies need no hook: they read as OAuth's {error, error_description}.
  operations: endUserOperations({}),
  // No SCIM: the joiner is an end user of an organization (its id comes in the target's input), the leaver
  // deletes the end user with the person's email; NinjaOne has nothing a mover could update.
  lifecycleOperations: { joiner: 'create_end_user', leaver: 'delete_end_user' },
  grantPermissions:
    'In NinjaOne, open Administration → Apps → API, tab Client App IDs, edit the Tether client app, tick the missing scope under Scopes and save.',
  hooks: {
    normaliseInstanceUrl: instanceBase,
    chosenScopes: (ctx) => readSettings(settings, ctx).scopes,
    defaultInstanceUrl: (given) => regionUrl(settings.shape.region.parse(given.region)),
  },
};
