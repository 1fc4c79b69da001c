// `npm run keys:workflows -- --key <id> [--move]`: the running workflows whose history still needs the
// encryption key <id>, one per line on stdout (workflow id, type, keys its history needs). With --move, the
// connection workflows among them continue as new (their new run is encrypted with the active key), and
// the list is read again until they are gone or --wait seconds (default 120) have passed.
// Uses TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the keyring (TETHER_ENCRYPTION_KEYS, TETHER_ACTIVE_KEY_ID,
// TETHER_DECRYPT_ONLY_KEYS), as the worker does; run it after the workers were restarted on the new key.
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../platform/config';
import { loadKeyring } from '../platform/encryption';
import { EncryptionCodec, encryptedDataConverter } from '../platform/payload-codec';
import { moveToActiveKey, workflowsNeedingKey } from '../worker/workflow-keys';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { key: { type: 'string' }, move: { type: 'boolean' }, wait: { type: 'string', default: '120' } },
  });
  if (!values.key) throw new Error('--key <keyId> is required: the key you want to retire');
  const waitMs = Number(values.wait) * 1000;
  if (!Number.isFinite(waitMs) || waitMs < 0) throw new Error('--wait takes a number of seconds');
  const config = loadConfig();
  const { keys, activeKeyId } = loadKeyring(config.encryption);
  if (values.move && values.key === activeKeyId) {
    throw new Error(
      `${values.key} is the active key: make another key active (and restart the workers) first`,
    );
  }
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const temporal = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: encryptedDataConverter(new EncryptionCodec(keys, activeKeyId)),
    });
    let needing = await workflowsNeedingKey(temporal, values.key);
    for (const w of needing) console.log(`${w.workflowId}\t${w.type}\t${w.keyIds.join(',')}`);
    console.error(`${needing.length} running workflows need key ${values.key}`);
    if (!values.move || needing.length === 0) return 0;

    for (const outcome of await moveToActiveKey(temporal, needing)) {
      if (!outcome.moved) console.error(`${outcome.workflowId}: not moved: ${outcome.why}`);
    }
    const deadline = Date.now() + waitMs;
    for (;;) {
      needing = await workflowsNeedingKey(temporal, values.key);
      if (needing.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    for (const w of needing) console.error(`still needs ${values.key}: ${w.workflowId} (${w.type})`);
    console.error(
      needing.length === 0
        ? `no running workflow needs key ${values.key} any more`
        : `${needing.length} running workflows still need key ${values.key}: keep it (decrypt-only) and run this again`,
    );
    return needing.length === 0 ? 0 : 1;
  } finally {
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
