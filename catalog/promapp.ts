import { z } from 'zod';
import type { VendorDefinition } from '../vendor-kit/definition';
import { scimUserOperations } from '../vendor-kit/scim';
import { hostIsUnder, segments, segmentsPath, type InstanceUrlNormaliser } from '../vendor-kit/instance-url';

const SCIM_BASE = 'https://api.promapp.com/api/scim';

/**
 * The SCIM base from what people enter: Promapp's own page gives `https://api.promapp.com`, others paste
 * `…/api/scim/` or an endpoint under it; all of them mean `<host>/api/scim`. A host under promapp.com whose
 * first label has no `api` in it is a tenant's sign-in address (`https://acme.promapp.com`), which serves
 * no SCIM API: refused, naming what to enter. Other hosts (the simulator on loopback) keep the path before
 * `/api/scim`.
 */
const scimBaseUrl: InstanceUrlNormaliser = (url) => {
  if (hostIsUnder(url, ['promapp.com'])) {
    if (!url.hostname.split('.')[0]!.includes('api')) {
      return {
        error: `${url.origin} is a Promapp sign-in address, which serves no SCIM API: enter ${SCIM_BASE} (or leave the field out, which means the same)`,
      };
    }
    return `${url.origin}/api/scim`;
  }
  const parts = segments(url);
  const lower = parts.map((part) => part.toLowerCase());
  const scim = lower.findIndex((part, i) => part === 'api' && lower[i + 1] === 'scim');
  const prefix = scim !== -1 ? parts.slice(0, scim) : lower.at(-1) === 'api' ? parts.slice(0, -1) : parts;
  return `${url.origin}${segmentsPath(prefix)}/api/scim`;
};

export const promapp: VendorDefinition = {
  id: 'promapp',
  name: 'Nintex Promapp (Process Manager)',
  shortName: 'Promapp',
  description: 'Static SCIM bearer token issued by a Promaster, valid one year, no refresh.',
  docsUrl: 'https://help.nintex.com/en-US/promapp/',
  auth: { kind: 'static_bearer', lifetimeDays: 365 },
  instanceUrl: {
    label: 'SCIM base URL',
    example: SCIM_BASE,
    default: SCIM_BASE,
    help: 'The SCIM API base, not your sign-in address (https://{tenant}.promapp.com); https://api.promapp.com is read as https://api.promapp.com/api/scim. Leave empty for the default.',
  },
  credentials: z
    .object({
      token: z
        .string()
        .trim()
        .min(8)
        .max(4096)
        .meta({ title: 'SCIM access token', format: 'password' })
        .describe('SCIM access token (shown once in Promapp)'),
    })
    .strict(),
  settings: z
    .object({
      tokenExpiresAt: z.iso
        .datetime({ offset: true })
        .optional()
        .meta({ title: 'Token expiry' })
        .describe('When the token expires (one year after it was created). Default: one year from linking.'),
    })
    .strict(),
  scopes: [{ scope: 'SCIM', purpose: 'create, update and disable users through SCIM' }],
  // Promapp exposes no granted scopes: a SCIM read proves the token's SCIM scope.
  probes: [{ id: 'scim-users', method: 'GET', path: '/Users?count=1', proves: ['SCIM'], health: true }],
  // The instance URL is the SCIM base; Promapp takes PATCH, and deprovisioning disables the user.
  operations: scimUserOperations({ baseUrl: (ctx) => ctx.instanceUrl, patch: true }),
  revoke: {
    supported: false,
    instructions:
      'Promapp tokens can only be revoked in Promapp: a Promaster opens My Profile → Access Tokens and deletes the token. Tether wiped its copy.',
  },
  hooks: { normaliseInstanceUrl: scimBaseUrl },
  setupSteps: [
    'Sign in to Promapp as a Promaster.',
    'Open My Profile → Access Tokens and create a token with scope "SCIM".',
    'Copy the token now: Promapp shows it only once. It is valid for one year.',
    'Paste it here. Leave the URL empty to use https://api.promapp.com/api/scim; set "Token expiry" (settings.tokenExpiresAt) if the token was created earlier than today.',
  ],
  grantPermissions:
    'A Promapp token cannot gain a scope later: a Promaster creates a new token with scope "SCIM" (My Profile → Access Tokens), and you enter that one instead.',
};
