// The refreshes a set of connections recorded, each with the expiry of the token it replaced: the old
// value the same transaction overwrote (bench/instrument.ts logs it). How refresh lateness is computed.
import type { Harness } from './harness';

export interface RecordedRefresh {
  connectionId: string;
  /** When the refresh_succeeded audit event was recorded. */
  created: Date;
  oldExpiry: Date | null;
  newExpiry: Date | null;
}

export async function recordedRefreshes(h: Harness, ids: string[]): Promise<RecordedRefresh[]> {
  const rows = await h.db.$queryRawUnsafe<
    { connection_id: string; created: Date; old_exp: Date | null; new_exp: Date | null }[]
  >(
    `SELECT a."connectionId" AS connection_id, a."createdAt" AS created,
            l.old_token_expires_at AS old_exp, l.new_token_expires_at AS new_exp
     FROM "AuditEvent" a
     JOIN bench_audit_tx t ON t.audit_id = a.id
     JOIN bench_connection_log l ON l.txid = t.txid AND l.connection_id = a."connectionId"
     WHERE a.type = 'refresh_succeeded' AND a."connectionId" = ANY($1::uuid[])`,
    ids,
  );
  return rows.map((r) => ({
    connectionId: r.connection_id,
    created: r.created,
    oldExpiry: r.old_exp,
    newExpiry: r.new_exp,
  }));
}

/** ms from the replaced token's expiry to the refresh's recording (negative: before it expired). */
export const latenessOf = (r: RecordedRefresh): number | null =>
  r.oldExpiry ? r.created.getTime() - r.oldExpiry.getTime() : null;
