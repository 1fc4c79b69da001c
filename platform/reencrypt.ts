// Re-seal every secret under the active key, so an old key can be retired. Safe to run while the
// service runs: a row is only replaced if nobody rewrote it since it was read.
import type { Db } from './db';
import type { SecretBox } from './secret-box';

export async function reencryptSecrets(
  db: Db,
  box: SecretBox,
  options: { batchSize?: number } = {},
): Promise<{ reencrypted: number; skipped: number }> {
  const batchSize = options.batchSize ?? 200;
  let reencrypted = 0;
  let skipped = 0;
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
      } else skipped += 1; // rewritten meanwhile (already under the active key) or deleted
    }
    if (!progressed && rows.length < batchSize) break;
  }
  // Webhook signing secrets are sealed the same way, in their own table.
  const endpoints = await db.webhookEndpoint.findMany({ where: { secretKeyId: { not: box.activeKeyId } } });
  for (const endpoint of endpoints) {
    const context = `webhook/${endpoint.id}`;
    const plain = box.open(
      { keyId: endpoint.secretKeyId, sealed: Buffer.from(endpoint.secretSealed) },
      context,
    );
    const { keyId, sealed } = box.seal(plain, context);
    const { count } = await db.webhookEndpoint.updateMany({
      where: { id: endpoint.id, secretKeyId: endpoint.secretKeyId },
      data: { secretKeyId: keyId, secretSealed: new Uint8Array(sealed) },
    });
    if (count === 1) reencrypted += 1;
    else skipped += 1;
  }
  return { reencrypted, skipped };
}
