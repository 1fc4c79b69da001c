// `npm run keys:reencrypt`: re-seal every stored secret under TETHER_ACTIVE_KEY_ID (or the first key
// of TETHER_ENCRYPTION_KEYS). Rotate a key: add the new key first in TETHER_ENCRYPTION_KEYS (keep
// the old one), restart, run this, then remove the old key.
import { loadConfig } from '../platform/config';
import { createPrismaClient } from '../platform/db';
import { secretBoxFromConfig } from '../platform/encryption';
import { reencryptSecrets } from '../platform/reencrypt';

async function main() {
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set');
  const box = secretBoxFromConfig(config.encryption);
  const db = createPrismaClient(config.databaseUrl);
  try {
    const result = await reencryptSecrets(db, box);
    console.log(
      `re-encrypted ${result.reencrypted} secrets under key ${box.activeKeyId} (${result.skipped} changed meanwhile)`,
    );
  } finally {
    await db.$disconnect();
  }
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
