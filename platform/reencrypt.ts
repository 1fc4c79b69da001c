// Re-seal every secret under the active key, so an old key can be retired. Safe to run while the
// service runs: a row is only replaced if nobody rewrote it since it was read. Each connection whose
// secrets were re-sealed gets an audit event naming the operator command.
import { actorColumns } from '../domain/audit-events';
import type { Db } from './db';
import type { SecretBox } from './secret-box';

const ACTOR = actorColumns({ kind: 'operator', command: 'keys:reencrypt' });

export async function reencryptSecrets(
  db: Db,
  box: SecretBox,
  options: { batchSize?: number } = {},
): Promise<{ reencrypted: number; skipped: number }> {
  const batchSize = options.batchSize ?? 200;
  let reencrypted = 0;
  let skipped = 0;
  /** Per connection, the kinds of secret re-sealed. */
  const resealed = new Map<string, string[]>();
  for (;;) {
    const rows = await db.connectionSecret.findMany({
      where: { keyId: { not: box.activeKeyId } },
      take: batchSize,
      orderBy: [{ connectionId: 'asc' }, { kind: 'asc' }],
    });
    if (rows.length === 0) break;
    let progressed = false;
    for (const row of rows) {
      const context = `${row.connectionId}/${row.kind}`;
      const plain = box.open({ keyId: row.keyId, sealed: Buffer.from(row.sealed) }, context);
      const { keyId, sealed } = box.seal(plain, context);
      const { count } = await db.connectionSecret.updateMany({
        where: { connectionId: row.connectionId, kind: row.kind, keyId: row.keyId, updatedAt: row.updatedAt },
        data: { keyId, sealed: new Uint8Array(sealed) },
      });
      if (count === 1) {
        reencrypted += 1;
        progressed = true;
        resealed.set(row.connectionId, [...(resealed.get(row.connectionId) ?? []), row.kind]);
      } else skipped += 1; // rewritten meanwhile (already under the active key) or deleted
    }
    if (!progressed && rows.length < batchSize) break;
  }
  await recordResealed(db, resealed, box.activeKeyId);
  // Webhook signing secrets are sealed the same way, in their own table: the current one, and the one a
  // rotation replaced while it overlaps (both bound to the endpoint's row).
  const slots = [
    { keyId: 'secretKeyId', sealed: 'secretSealed' },
    { keyId: 'previousSecretKeyId', sealed: 'previousSecretSealed' },
  ] as const;
  for (const slot of slots) {
    const endpoints = await db.webhookEndpoint.findMany({
      where: { AND: [{ [slot.keyId]: { not: null } }, { [slot.keyId]: { not: box.activeKeyId } }] },
    });
    for (const endpoint of endpoints) {
      const context = `webhook/${endpoint.id}`;
      const oldKeyId = endpoint[slot.keyId];
      const oldSealed = endpoint[slot.sealed];
      if (oldKeyId === null || oldSealed === null) continue;
      const plain = box.open({ keyId: oldKeyId, sealed: Buffer.from(oldSealed) }, context);
      const { keyId, sealed } = box.seal(plain, context);
      const { count } = await db.webhookEndpoint.updateMany({
        where: { id: endpoint.id, [slot.keyId]: oldKeyId, [slot.sealed]: oldSealed },
        data: { [slot.keyId]: keyId, [slot.sealed]: new Uint8Array(sealed) },
      });
      if (count === 1) reencrypted += 1;
      else skipped += 1; // rotated, wiped or re-sealed meanwhile
    }
  }
  return { reencrypted, skipped };
}

async function recordResealed(db: Db, resealed: Map<string, string[]>, keyId: string): Promise<void> {
  const ids = [...resealed.keys()];
  for (let i = 0; i < ids.length; i += 500) {
    const connections = await db.connection.findMany({
      where: { id: { in: ids.slice(i, i + 500) } },
      select: { id: true, tenantId: true },
    });
    await db.auditEvent.createMany({
      data: connections.map((c) => ({
        connectionId: c.id,
        tenantId: c.tenantId,
        type: 'secrets_reencrypted',
        ...ACTOR,
        detail: { keyId, kinds: resealed.get(c.id)! },
      })),
    });
  }
}
