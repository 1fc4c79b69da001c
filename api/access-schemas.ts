// zod schemas of the token access route and the proxy: validation, types and their OpenAPI.
import { z } from 'zod';
import { ConnectionStatusSchema, ErrorSchema } from './schemas';

export const AccessTokenRequestSchema = z
  .object({
    minValiditySeconds: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .default(60)
      .describe(
        'the token must stay valid at least this long; a stored one that would not is refreshed first. At most half the connection’s token lifetime.',
      ),
  })
  .strict()
  .meta({ id: 'AccessTokenRequest' });

export const AccessTokenSchema = z
  .object({
    connectionId: z.uuid(),
    vendor: z.string(),
    accessToken: z.string().describe("the vendor's token: send it as `Authorization: Bearer <accessToken>`"),
    tokenType: z.literal('Bearer'),
    expiresAt: z
      .string()
      .nullable()
      .describe('when it stops working (a static token: its known end, if any); null: it does not expire'),
    expiresInSeconds: z.number().int().nullable(),
    grantedScopes: z.array(z.string()).describe('what the vendor granted, as last verified'),
    apiBaseUrl: z.string().describe("the vendor API base the token is for (the catalog's)"),
    apiBaseUrls: z
      .record(z.string(), z.string())
      .describe('every API base by name: `default` is apiBaseUrl; Slack adds `scim`'),
    refreshed: z
      .boolean()
      .describe('the token was refreshed through the connection’s workflow for this call'),
  })
  .meta({ id: 'AccessToken' });

export const ConnectionUnusableSchema = ErrorSchema.extend({
  error: z.literal('connection_unusable'),
  status: z.union([ConnectionStatusSchema, z.literal('missing')]),
  reason: z.string().nullable().describe("the connection's statusReason"),
}).meta({ id: 'ConnectionUnusable' });

export const ProxyParamsSchema = z.object({
  id: z.uuid(),
  '*': z.string().describe('the vendor path, relative to the API base, with its query string'),
});

// Loose: every other header is the caller's, for the vendor.
export const ProxyHeadersSchema = z.looseObject({
  'tether-api-base': z
    .string()
    .max(64)
    .optional()
    .describe(
      'which of the vendor’s API bases (see apiBaseUrls of the access-token answer); default `default`',
    ),
});
