// AES-256-GCM for secrets at rest. Each sealed value records the id of the key that sealed it,
// so keys rotate: new writes use the active key, old rows stay readable until re-encrypted.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  keyId: string;
  sealed: Buffer;
}

export interface SecretBox {
  readonly activeKeyId: string;
  /** `context` is bound as additional authenticated data: a value moved to another row won't open. */
  seal(plaintext: string, context: string): Sealed;
  open(value: Sealed, context: string): string;
  /**
   * Keyed hash for comparing secret-bearing values without storing them (idempotency keys), as
   * `<keyId>:<hex>`: it names the key that made it, so it can be checked after the active key changed.
   */
  fingerprint(data: string): string;
  /** Whether `data` has this fingerprint, made with any key of the ring (active or decrypt-only). */
  matchesFingerprint(data: string, fingerprint: string): boolean;
}

export function createSecretBox(keys: Map<string, Buffer>, activeKeyId: string): SecretBox {
  for (const [id, key] of keys) {
    if (key.length !== 32) throw new Error(`encryption key ${id} must be 32 bytes (got ${key.length})`);
  }
  const active = keys.get(activeKeyId);
  if (!active) throw new Error(`active encryption key ${activeKeyId} is not configured`);

  // A separate key for fingerprints, so the hash never uses the encryption key directly.
  const mac = (key: Buffer, data: string) =>
    createHmac('sha256', Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'tether/fingerprint', 32)))
      .update(data)
      .digest();

  return {
    activeKeyId,
    fingerprint(data) {
      return `${activeKeyId}:${mac(active, data).toString('hex')}`;
    },
    matchesFingerprint(data, fingerprint) {
      const at = fingerprint.lastIndexOf(':');
      // Made before fingerprints named their key: by any key still configured.
      const candidates = at < 0 ? [...keys.values()] : [keys.get(fingerprint.slice(0, at))];
      const expected = Buffer.from(fingerprint.slice(at + 1), 'hex');
      return candidates.some((key) => {
        const actual = key && mac(key, data);
        return !!actual && actual.length === expected.length && timingSafeEqual(actual, expected);
      });
    },
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', active, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return { keyId: activeKeyId, sealed: Buffer.concat([iv, cipher.getAuthTag(), body]) };
    },
    open({ keyId, sealed }, context) {
      const key = keys.get(keyId);
      if (!key) throw new Error(`encryption key ${keyId} is not configured: cannot decrypt`);
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    },
  };
}

/** Parse `id1:base64key,id2:base64key` (TETHER_ENCRYPTION_KEYS). */
export function parseKeyring(spec: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = part.indexOf(':');
    if (at <= 0)
      throw new Error('TETHER_ENCRYPTION_KEYS entries must look like <keyId>:<base64 32-byte key>');
    keys.set(part.slice(0, at), Buffer.from(part.slice(at + 1), 'base64'));
  }
  return keys;
}

export function generateKey(): string {
  return randomBytes(32).toString('base64');
}
