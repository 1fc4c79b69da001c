// API keys as the API reads them. `verify` checks the key a request presents against its stored hash,
// before any tenant is known (the key is what names the tenant). The admin routes' reads are scoped like
// every other read: an admin key naming a tenant (X-Tenant-Id) sees that tenant's keys only; without,
// every key, admin keys included. Only columns that say what a key is are read: never its hash or salt.
import { createApiKeyVerifier, type ApiKeyAuth, type ApiKeyVerifier } from '../../platform/api-keys';
import type { Db } from '../../platform/db';
import { ApiError } from '../errors';
import { newestFirstPage } from './page-cursor';
import { inScope, type TenantScope } from './tenant-scope';

const VISIBLE = {
  id: true,
  prefix: true,
  name: true,
  tenantId: true,
  role: true,
  scopes: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

export function apiKeyData(db: Db, verifier: ApiKeyVerifier = createApiKeyVerifier(db)) {
  const get = async (scope: TenantScope, id: string) => {
    const key = await db.apiKey.findFirst({ where: { id, ...inScope(scope) }, select: VISIBLE });
    if (!key) throw new ApiError(404, 'not_found', `no API key ${id}`);
    return key;
  };

  return {
    /** The key's tenant, role and scopes, or null when it is unknown or revoked. */
    verify: (presented: string): Promise<ApiKeyAuth | null> => verifier.verify(presented),

    get,

    /** Newest first; each page continues strictly after the previous page's last row. */
    async list(scope: TenantScope, { limit, cursor }: { limit: number; cursor?: string }) {
      return newestFirstPage(scope, { limit, cursor }, (page) =>
        db.apiKey.findMany({
          where: { ...inScope(scope), ...page.after },
          select: VISIBLE,
          orderBy: page.orderBy,
          take: page.take,
        }),
      );
    },

    /** Revoke the key (it answers 401 from now on); a revoked one stays as it was. */
    async revoke(scope: TenantScope, id: string) {
      const { prefix } = await get(scope, id);
      await db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
      // Other replicas hear of it by NOTIFY; this one must not answer even one more request with it.
      verifier.forget(prefix);
      return get(scope, id);
    },
  };
}

export type ApiKeyData = ReturnType<typeof apiKeyData>;
