// API keys, for operators: list them and revoke one (admin keys only; see api/route-scopes.ts). Creating a
// key stays with `npm run api-keys -- create`, so a key is never handed out over HTTP.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { API_KEY_SCOPES } from '../../domain/api-key-scopes';
import { readScope } from '../auth';
import { ErrorSchema, IdParamsSchema } from '../schemas';
import type { TenantData } from '../tenant-data';

const ApiKeySchema = z
  .object({
    id: z.uuid(),
    prefix: z
      .string()
      .describe('the public part of the key (tk_<prefix>_…), as `npm run api-keys -- list` shows it'),
    name: z.string(),
    tenantId: z.string().nullable().describe('null for admin keys'),
    role: z.enum(['tenant', 'admin']),
    scopes: z.array(z.string()).describe(`of ${API_KEY_SCOPES.join(', ')}; admin keys hold every one`),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable().describe('to the minute'),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });

const ListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(512).optional().describe("the previous page's nextCursor"),
  })
  .strict();

type KeyRow = {
  id: string;
  prefix: string;
  name: string;
  tenantId: string | null;
  role: 'tenant' | 'admin';
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

const view = (k: KeyRow) => ({
  ...k,
  scopes: k.role === 'admin' ? [...API_KEY_SCOPES] : k.scopes,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

export const apiKeyRoutes: FastifyPluginAsyncZod<{ data: TenantData }> = async (app, { data }) => {
  app.get(
    '/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: "API keys, newest first (X-Tenant-Id: one tenant's); never the key itself or its hash",
        querystring: ListQuerySchema,
        response: {
          200: z.object({ items: z.array(ApiKeySchema), nextCursor: z.string().nullable() }),
          400: ErrorSchema,
          403: ErrorSchema,
        },
      },
    },
    async (request) => {
      const page = await data.apiKeys.list(readScope(request), request.query);
      return { items: page.items.map(view), nextCursor: page.nextCursor };
    },
  );

  app.delete(
    '/api-keys/:id',
    {
      schema: {
        tags: ['api-keys'],
        summary:
          'Revoke a key: every request with it answers 401 from now on (revoking twice changes nothing)',
        params: IdParamsSchema,
        response: { 200: ApiKeySchema, 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request) => view(await data.apiKeys.revoke(readScope(request), request.params.id)),
  );
};
