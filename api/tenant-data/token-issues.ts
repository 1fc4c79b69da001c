// Tokens handed out by POST /v1/connections/{id}/access-token: each one an audit event on its connection,
// naming the API key that asked and never the token.
import type { Connection, Db } from '../../platform/db';

export interface TokenIssue {
  apiKeyId: string;
  apiKeyPrefix: string;
  minValiditySeconds: number;
  refreshed: boolean;
  tokenExpiresAt: Date | null;
}

export function tokenIssueData(db: Db) {
  return {
    async record(connection: Connection, issue: TokenIssue): Promise<void> {
      await db.auditEvent.create({
        data: {
          connectionId: connection.id,
          tenantId: connection.tenantId,
          type: 'access_token_issued',
          actor: `api_key:${issue.apiKeyPrefix}`,
          detail: {
            apiKeyId: issue.apiKeyId,
            apiKeyPrefix: issue.apiKeyPrefix,
            minValiditySeconds: issue.minValiditySeconds,
            refreshed: issue.refreshed,
            tokenExpiresAt: issue.tokenExpiresAt?.toISOString() ?? null,
          },
        },
      });
    },
  };
}
