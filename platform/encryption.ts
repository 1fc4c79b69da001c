// The SecretBox from configuration. The embedded default may create a local key (with a warning);
// production refuses to start without one.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { createSecretBox, generateKey, parseKeyring, type SecretBox } from './secret-box';

export interface EncryptionConfig {
  keys?: string;
  activeKeyId?: string;
  /** Retired keys (TETHER_DECRYPT_ONLY_KEYS): they open what they sealed, and never seal. */
  decryptOnlyKeys?: string;
}

export interface Keyring {
  /** Every key that decrypts: the encryption keys and the decrypt-only ones. */
  keys: Map<string, Buffer>;
  activeKeyId: string;
}

export function secretBoxFromConfig(
  config: EncryptionConfig,
  options: { localKeyFile?: string; logger?: Logger } = {},
): SecretBox {
  const { keys, activeKeyId } = loadKeyring(config, options);
  return createSecretBox(keys, activeKeyId);
}

/** The configured keys (or, outside production, a local one); the first is active unless named. */
export function loadKeyring(
  config: EncryptionConfig,
  options: { localKeyFile?: string; logger?: Logger } = {},
): Keyring {
  let spec = config.keys;
  if (!spec) {
    if (process.env.NODE_ENV === 'production' || !options.localKeyFile) {
      throw new Error(
        'TETHER_ENCRYPTION_KEYS is not set: give at least one key as <keyId>:<base64 32 bytes> (generate one with `openssl rand -base64 32`)',
      );
    }
    spec = localKey(options.localKeyFile);
    options.logger?.warn(
      { keyFile: options.localKeyFile },
      'using a locally generated encryption key: fine for a demo, set TETHER_ENCRYPTION_KEYS in production',
    );
  }
  const keys = parseKeyring(spec);
  const activeKeyId = config.activeKeyId ?? [...keys.keys()][0];
  if (!activeKeyId) throw new Error('TETHER_ENCRYPTION_KEYS holds no key');
  if (!keys.has(activeKeyId))
    throw new Error(`TETHER_ACTIVE_KEY_ID ${activeKeyId} is not in TETHER_ENCRYPTION_KEYS`);
  for (const [id, key] of parseKeyring(config.decryptOnlyKeys ?? '')) {
    if (keys.has(id))
      throw new Error(`key ${id} is in both TETHER_ENCRYPTION_KEYS and TETHER_DECRYPT_ONLY_KEYS`);
    keys.set(id, key);
  }
  return { keys, activeKeyId };
}

function localKey(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `local:${generateKey()}\n`, { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}
