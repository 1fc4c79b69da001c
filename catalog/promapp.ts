import { z } from 'zod';
import type { VendorDefinition } from '../vendor-kit/definition';

export const promapp: VendorDefinition = {
  id: 'promapp',
  name: 'Nintex Promapp (Process Manager)',
  description: 'Static SCIM bearer token issued by a Promaster, valid one year, no refresh.',
  docsUrl: 'https://help.nintex.com/en-US/promapp/',
  auth: { kind: 'static_bearer', lifetimeDays: 365 },
  instanceUrl: {
    label: 'SCIM base URL',
    example: 'https://api.promapp.com/api/scim',
    default: 'https://api.promapp.com/api/scim',
    help: 'The SCIM API base, not your sign-in address (https://{tenant}.promapp.com). Leave empty for the default.',
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
  revoke: {
    supported: false,
    instructions:
      'Promapp tokens can only be revoked in Promapp: a Promaster opens My Profile → Access Tokens and deletes the token. Tether wiped its copy.',
  },
  setupSteps: [
    'Sign in to Promapp as a Promaster.',
    'Open My Profile → Access Tokens and create a token with scope "SCIM".',
    'Copy the token now: Promapp shows it only once. It is valid for one year.',
    'Paste it here. Leave the URL empty to use https://api.promapp.com/api/scim; set "Token expiry" (settings.tokenExpiresAt) if the token was created earlier than today.',
  ],
  grantPermissions:
    'A Promapp token cannot gain a scope later: a Promaster creates a new token with scope "SCIM" (My Profile → Access Tokens), and you enter that one instead.',
};
