// Encrypts every Temporal payload (inputs, results, failure details) with AES-256-GCM before it
// leaves the process, on client and worker alike. Workflows carry ids, never secrets; this is the
// second wall, so even ids and vendor messages are unreadable to anyone with only Temporal access.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;

  /** Keys are derived from the at-rest keyring (HKDF), so one configuration serves both. */
  constructor(
    keyring: Map<string, Buffer>,
    private readonly activeKeyId: string,
  ) {
    this.keys = new Map(
      [...keyring].map(([id, key]) => [
        id,
        Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'tether/temporal-payloads', 32)),
      ]),
    );
    if (!this.keys.has(activeKeyId)) throw new Error(`payload key ${activeKeyId} is not configured`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKeyId)!, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return {
        metadata: {
          encoding: Buffer.from(ENCODING),
          [KEY_ID]: Buffer.from(this.activeKeyId),
        },
        data: Buffer.concat([iv, cipher.getAuthTag(), body]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== ENCODING) return payload;
      const keyId = Buffer.from(payload.metadata?.[KEY_ID] ?? []).toString();
      const key = this.keys.get(keyId);
      if (!key) throw new Error(`payload encrypted with unknown key ${keyId}`);
      const data = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** The id of the key a payload was encrypted with, or null for a payload this codec did not encrypt. */
export function payloadKeyId(payload: Payload): string | null {
  if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== ENCODING) return null;
  return Buffer.from(payload.metadata?.[KEY_ID] ?? []).toString();
}

/** Module of the failure converter, for `bundleWorkflowCode({ failureConverterPath })` where a bundle is built ahead. */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * The data converter for client and worker: encrypted payloads, and failure messages and stack traces moved
 * into the (encrypted) encoded attributes instead of travelling in clear. The failure converter goes by path:
 * the SDK ignores a converter instance in these options.
 */
export function encryptedDataConverter(codec: EncryptionCodec) {
  return {
    payloadCodecs: [codec],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  } satisfies DataConverter;
}
