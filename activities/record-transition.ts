// Persist one transition of the state machine: the connection row and its audit event, in one
// transaction. The audit event's dedupe key (connection id + sequence) makes a retried activity a
// no-op instead of a duplicate.
import type { Db } from '../lib/db';
import type { Transition } from '../workflows/connection-machine';

const date = (ms: number | null | undefined) => (ms === undefined ? undefined : ms === null ? null : new Date(ms));

export async function recordTransition(
  db: Db,
  { connectionId, tenantId, transition: t }: { connectionId: string; tenantId: string; transition: Transition },
): Promise<void> {
  await db.$transaction(async (tx) => {
    const inserted = await tx.auditEvent.createMany({
      data: [
        {
          connectionId,
          tenantId,
          type: t.event,
          fromStatus: t.from,
          toStatus: t.to,
          actor: 'workflow',
          dedupeKey: `${connectionId}:${t.seq}`,
          detail: {
            ...t.detail,
            ...(t.reason ? { reason: t.reason } : {}),
            ...(t.message ? { message: t.message } : {}),
          },
        },
      ],
      skipDuplicates: true,
    });
    if (inserted.count === 0) return;
    const p = t.patch;
    await tx.connection.update({
      where: { id: connectionId },
      data: {
        status: t.to,
        ...(t.reason !== undefined ? { statusReason: t.reason } : {}),
        ...(t.message !== undefined ? { statusMessage: t.message } : {}),
        tokenObtainedAt: date(p.tokenObtainedAt),
        tokenExpiresAt: date(p.tokenExpiresAt),
        credentialExpiresAt: date(p.credentialExpiresAt),
        lastCheckedAt: date(p.lastCheckAt),
        lastSuccessAt: date(p.lastSuccessAt),
        nextCheckAt: date(p.nextCheckAt),
        consecutiveFailures: p.consecutiveFailures,
        ...(p.grantedScopes ? { grantedScopes: p.grantedScopes } : {}),
        ...(p.missingScopes ? { missingScopes: p.missingScopes as unknown as object[] } : {}),
        ...(t.to === 'revoked'
          ? { revokedAt: new Date(), vendorRevocation: String(t.detail.vendorRevocation ?? 'unsupported') }
          : {}),
      },
    });
  });
}
