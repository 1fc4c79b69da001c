import { z } from 'zod';
import type { BodyError, VendorDefinition } from '../vendor-kit/definition';
import { answerWords } from '../vendor-kit/answer-fields';
import { requestOperations } from './invgate-requests';
import { hostIsUnder, originOnly, pathBefore, type InstanceUrlNormaliser } from '../vendor-kit/instance-url';

/**
 * Hosted instances (…cloud.invgate.net) serve the API at the root, so a pasted browser address
 * (`/requests/123#…`) is the instance itself; elsewhere (self-hosted) the path before `/api` or `/oauth`.
 */
const instanceBase: InstanceUrlNormaliser = (url) =>
  hostIsUnder(url, ['invgate.net']) ? originOnly(url) : pathBefore(url, ['api', 'oauth']);

const scopes = [
  { scope: 'api.v1.incident:post', purpose: 'submit a new request' },
  { scope: 'api.v1.users:get', purpose: 'find users to set creator/customer' },
  { scope: 'api.v1.categories:get', purpose: 'list request categories' },
  { scope: 'api.v1.cf.fields.by.category:get', purpose: 'custom field ids for a category' },
  { scope: 'api.v1.cf.fields.all:get', purpose: 'names/details of custom fields' },
  { scope: 'api.v1.incident.attributes.type:get', purpose: 'request types' },
  { scope: 'api.v1.locations:get', purpose: 'locations' },
  { scope: 'api.v1.incident.attributes.priority:get', purpose: 'priorities' },
  { scope: 'api.v1.incident.custom_field:post', purpose: 'set custom field values' },
  { scope: 'api.v1.wf.initialfields.by.category:get', purpose: 'required initial fields for a category' },
  { scope: 'api.v1.cf.fields.types:get', purpose: 'custom field types' },
  { scope: 'api.v1.cf.field.options.list:get', purpose: 'values of list-type custom fields' },
];

// The token endpoint may answer HTTP 200 with {error, error_description}; APIs answer {status: "ERROR"}.
const errorInBody = (body: unknown): BodyError | null => {
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  const error = answerWords(b.error);
  if (error !== null && b.status === undefined) {
    return { code: error, message: answerWords(b.error_description) ?? error };
  }
  if (b.status === 'ERROR') return { code: 'ERROR', message: error ?? answerWords(b.info) ?? 'error' };
  return null;
};

const probe = (endpoint: string, query = '') => ({
  id: endpoint,
  method: 'GET' as const,
  path: `/api/v1/${endpoint}${query}`,
  proves: [`api.v1.${endpoint}:get`],
});

export const invgate: VendorDefinition = {
  id: 'invgate',
  name: 'InvGate Service Management',
  shortName: 'InvGate',
  description: 'OAuth2 client credentials with 12 named API scopes; requests are submitted as incidents.',
  docsUrl: 'https://releases.invgate.com/service-management/api/',
  auth: {
    kind: 'oauth2_client_credentials',
    tokenUrl: (ctx) => `${ctx.instanceUrl}/oauth/v2/0/access_token`,
    clientAuth: 'client_secret_post',
    // The access token is a JWT whose `scopes` claim lists what was granted.
    grantedScopesFrom: { jwtClaim: 'scopes' },
    // InvGate does not document the lifetime; assume an hour when expires_in is absent.
    defaultExpiresInSeconds: 3600,
  },
  instanceUrl: {
    label: 'InvGate instance URL',
    example: 'https://acme.cloud.invgate.net',
    help: 'The address you use to sign in to InvGate Service Management (…cloud.invgate.net or …sd.cloud.invgate.net).',
  },
  credentials: z
    .object({
      clientId: z.string().trim().min(1).max(256).meta({ title: 'Client ID' }).describe('OAuth client id'),
      clientSecret: z
        .string()
        .min(1)
        .max(1024)
        .meta({ title: 'Client secret', format: 'password' })
        .describe('OAuth client secret'),
    })
    .strict(),
  settings: z.object({}).strict(),
  scopes,
  // `:post` scopes have no safe probe: they are verified from the token's `scopes` claim only.
  probes: [
    { ...probe('categories', '?page_size=1'), health: true },
    probe('incident.attributes.type'),
    probe('incident.attributes.priority'),
    probe('cf.fields.all'),
    probe('cf.fields.types'),
    probe('users'),
    probe('locations'),
  ],
  revoke: {
    supported: false,
    instructions:
      'InvGate has no documented token revocation endpoint. Tether wiped its copy of the secret; to stop the client itself, delete the OAuth client in InvGate (Settings → Integrations → API).',
  },
  setupSteps: [
    'In InvGate Service Management, open Settings → Integrations → API and enable the API if it is off.',
    'Create an OAuth 2.0 client of type "Client credentials" for Tether.',
    'Grant the client every scope listed under "Required permissions" below (each names what it is used for).',
    'Copy the client id and client secret, and paste them here with your instance URL (e.g. https://acme.cloud.invgate.net).',
  ],
  operations: requestOperations({ hooks: { errorInBody } }),
  grantPermissions:
    'In InvGate Service Management, open Settings → Integrations → API, edit the OAuth client you created for Tether, tick the missing scope and save.',
  hooks: {
    normaliseInstanceUrl: instanceBase,
    errorInBody,
  },
};
