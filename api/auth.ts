// Every /v1 route needs `Authorization: Bearer <api key>`. A tenant key sees only its tenant and does only
// what its scopes allow (route-scopes.ts); an admin key acts across tenants (X-Tenant-Id narrows it, and
// names the tenant for creates) and holds every scope.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyAuth } from '../platform/api-keys';
import type { Actor } from '../domain/audit-events';
import type { AddressLimit } from './address-limit';
import { ApiError, validationError } from './errors';
import { requiredScope } from './route-scopes';
import type { ApiKeyData } from './tenant-data';

declare module 'fastify' {
  interface FastifyRequest {
    auth: ApiKeyAuth;
  }
}

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The OpenAPI document's components.securitySchemes: what /docs sends as the key. */
export const API_KEY_SECURITY_SCHEME = {
  apiKey: {
    type: 'http' as const,
    scheme: 'bearer',
    description: 'An API key (tk_…): `npm run api-keys -- create --tenant <id>`, or `--admin`',
  },
};

/** The key of `Authorization: Bearer <key>`, or null. */
function presentedKey(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() || null : null;
}

/**
 * Every route registered after this in `app`'s scope needs an API key, and its OpenAPI entry says so.
 * Failed authentications count against the address's budget, checked before the key is looked up.
 */
export function requireApiKey(app: FastifyInstance, apiKeys: ApiKeyData, addressLimit: AddressLimit): void {
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [{ apiKey: [] }] };
  });
  app.decorateRequest('auth', null as unknown as ApiKeyAuth);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (requiredScope(method, route.url) === undefined) {
        throw new Error(`${method} ${route.url} needs an API key scope: add it to api/route-scopes.ts`);
      }
    }
  });
  app.addHook('onRequest', async (request) => {
    addressLimit.check(request);
    const presented = presentedKey(request);
    if (!presented) {
      addressLimit.count(request);
      throw new ApiError(401, 'unauthorized', 'send an API key as "Authorization: Bearer <key>"');
    }
    const auth = await apiKeys.verify(presented);
    if (!auth) {
      addressLimit.count(request);
      throw new ApiError(401, 'unauthorized', 'the API key is unknown or revoked');
    }
    request.auth = auth;
    const scope = requiredScope(request.method, request.routeOptions.url ?? '');
    if (scope === 'admin') {
      if (auth.role !== 'admin') throw new ApiError(403, 'admin_only', 'this route needs an admin API key');
    } else if (scope && !auth.scopes.includes(scope)) {
      throw new ApiError(
        403,
        'insufficient_scope',
        `this API key does not have the scope ${scope}`,
        undefined,
        {
          scope,
        },
      );
    }
  });
}

/**
 * Refuses (401) a request without an admin API key, for the operator's routes outside /v1 (codec, metrics).
 * The address's budget is checked first, and a failed attempt counts against it.
 */
export async function requireAdminKey(
  apiKeys: ApiKeyData,
  addressLimit: AddressLimit,
  request: FastifyRequest,
  refusal: string,
): Promise<void> {
  addressLimit.check(request);
  const presented = presentedKey(request);
  const auth = presented ? await apiKeys.verify(presented) : null;
  if (auth?.role === 'admin') return;
  addressLimit.count(request);
  throw new ApiError(401, 'unauthorized', refusal);
}

/** Which tenant's rows a request may read: its own, or (admin) the one named, or all (null). */
export function readScope(request: FastifyRequest): string | null {
  return request.auth.role === 'admin' ? requestedTenant(request) : request.auth.tenantId;
}

/** The tenant a new row belongs to. Admin keys must name it. */
export function writeTenant(request: FastifyRequest): string {
  if (request.auth.role !== 'admin') return request.auth.tenantId!;
  const tenant = requestedTenant(request);
  if (!tenant) {
    throw validationError([{ field: 'headers.x-tenant-id', message: 'an admin key must name the tenant' }]);
  }
  return tenant;
}

function requestedTenant(request: FastifyRequest): string | null {
  const value = request.headers['x-tenant-id'];
  if (value === undefined) return null;
  if (typeof value !== 'string' || !TENANT_ID.test(value)) {
    throw validationError([{ field: 'headers.x-tenant-id', message: 'letters, digits, . _ - (max 64)' }]);
  }
  return value;
}

/** Who a request acts as, for the audit trail: its API key's id and name (never the key). */
export function requestActor(request: FastifyRequest): Actor {
  return { kind: 'api', keyId: request.auth.keyId, label: request.auth.name };
}
