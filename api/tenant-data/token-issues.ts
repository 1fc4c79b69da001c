// Tokens handed out by POST /v1/connections/{id}/access-token: each one an audit event on its connection,
// naming the API key that asked and never the token.
import type { Connection, Db } from '../../platform/db';
import { actorColumns, type Actor } from '../../domain/audit-events';

export interface TokenIssue {
  /** The key that asked. */
  actor: Actor;
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
          ...actorColumns(issue.actor),
          detail: {
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
