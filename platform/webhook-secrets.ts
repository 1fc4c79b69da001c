// A rotated webhook secret is kept (sealed) only while it overlaps the new one. Signing already ignores
// it once expired; this removes it from the row: for one endpoint when a delivery finds it expired, and
// for all of them in the workers' periodic pass.
import type { Db } from './db';

export async function wipeExpiredWebhookSecrets(db: Db, now: Date, endpointId?: string): Promise<number> {
  const { count } = await db.webhookEndpoint.updateMany({
    where: { previousSecretExpiresAt: { lte: now }, ...(endpointId ? { id: endpointId } : {}) },
    data: { previousSecretKeyId: null, previousSecretSealed: null, previousSecretExpiresAt: null },
  });
  return count;
}
