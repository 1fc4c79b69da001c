// API keys as the API reads them: the key a request presents, verified against its stored hash. Before any
// tenant is known, so not tenant-scoped: the key is what names the tenant.
import { verifyApiKey, type ApiKeyAuth } from '../../platform/api-keys';
import type { Db } from '../../platform/db';

export function apiKeyData(db: Db) {
  return {
    /** The key's tenant, role and scopes, or null when it is unknown or revoked. */
    verify: (presented: string): Promise<ApiKeyAuth | null> => verifyApiKey(db, presented),
  };
}

export type ApiKeyData = ReturnType<typeof apiKeyData>;
