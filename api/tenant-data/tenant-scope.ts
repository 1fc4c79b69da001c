// Which tenant's rows a request may touch: its key's tenant, or for an admin key the tenant it names, or
// every tenant (null: an admin key without X-Tenant-Id). Every read of api/tenant-data goes through
// `inScope`.

export type TenantScope = string | null;

export const inScope = (scope: TenantScope) => (scope === null ? {} : { tenantId: scope });
