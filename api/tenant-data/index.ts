// The API's one way to PostgreSQL: routes read and write through these, never through Prisma, so every
// read is scoped to the caller's tenant in one place.
import type { Db } from '../../platform/db';
import type { ApiKeyVerifier } from '../../platform/api-keys';
import type { Quotas } from '../../platform/config';
import { apiKeyData } from './api-keys';
import { connectSessionData } from './connect-sessions';
import { auditTrailData } from './audit-trail';
import { connectionData } from './connections';
import { installData } from './installs';
import { tokenIssueData } from './token-issues';
import { jobData } from './jobs';
import { lifecycleEventData } from './lifecycle-events';
import { webhookData } from './webhooks';
import { operatorData } from './operator';

export { apiKeyData, type ApiKeyData } from './api-keys';
export type { TenantScope } from './tenant-scope';

/** `apiKeyVerifier`: how keys are verified (kept in memory or not); default: read from the database each time. */
export function createTenantData(db: Db, quotas: Quotas, apiKeyVerifier?: ApiKeyVerifier) {
  return {
    connections: connectionData(db, quotas),
    installs: installData(db),
    connectSessions: connectSessionData(db, quotas),
    tokenIssues: tokenIssueData(db),
    jobs: jobData(db, quotas),
    lifecycleEvents: lifecycleEventData(db),
    webhooks: webhookData(db, quotas),
    apiKeys: apiKeyData(db, apiKeyVerifier),
    audit: auditTrailData(db),
    /** Across tenants: for the operator's routes only (metrics, readiness). */
    operator: operatorData(db),
  };
}

export type TenantData = ReturnType<typeof createTenantData>;
