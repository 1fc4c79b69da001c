// API keys: `tk_<prefix>_<secret>`. Only a salted SHA-256 of the secret is stored. A fast hash is
// right here: keys are 256-bit random values, not passwords, so there is nothing to brute-force.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  API_KEY_SCOPES,
  DEFAULT_API_KEY_SCOPES,
  isApiKeyScope,
  type ApiKeyScope,
} from '../domain/api-key-scopes';
import type { ApiKeyChanges } from './api-key-changes';
import type { Db } from './db';

export interface ApiKeyAuth {
  keyId: string;
  /** The key's public prefix: how people and the audit trail name a key. */
  prefix: string;
  /** The key's name (`create --name`): how audit events name who acted. */
  name: string;
  /** null for admin keys, which act across tenants. */
  tenantId: string | null;
  role: 'tenant' | 'admin';
  /** What the key may do; an admin key holds every scope. */
  scopes: ApiKeyScope[];
}

const KEY_PATTERN = /^tk_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$/;
/** Writing lastUsedAt on every request would turn reads into writes; once a minute is enough. */
const LAST_USED_GRANULARITY_MS = 60_000;

function digest(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret).digest();
}

export async function createApiKey(
  db: Db,
  input: {
    name: string;
    tenantId?: string;
    tenantName?: string;
    role?: 'tenant' | 'admin';
    /** Default: DEFAULT_API_KEY_SCOPES; admin keys hold every scope. */
    scopes?: readonly string[];
  },
): Promise<{ id: string; key: string; prefix: string; scopes: ApiKeyScope[] }> {
  const role = input.role ?? 'tenant';
  if (role === 'tenant' && !input.tenantId) throw new Error('a tenant key needs a tenant id');
  if (role === 'admin' && input.tenantId) throw new Error('an admin key is not bound to a tenant');
  const unknown = input.scopes?.filter((s) => !isApiKeyScope(s)) ?? [];
  if (unknown.length > 0) {
    throw new Error(`unknown scope ${unknown.join(', ')}; scopes are ${API_KEY_SCOPES.join(', ')}`);
  }
  const scopes: ApiKeyScope[] =
    role === 'admin'
      ? [...API_KEY_SCOPES]
      : [...new Set((input.scopes ?? DEFAULT_API_KEY_SCOPES) as ApiKeyScope[])];
  const prefix = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  const id = randomUUID();
  await db.$transaction(async (tx) => {
    if (input.tenantId) {
      await tx.tenant.upsert({
        where: { id: input.tenantId },
        create: { id: input.tenantId, name: input.tenantName ?? input.tenantId },
        update: {},
      });
    }
    await tx.apiKey.create({
      data: {
        id,
        name: input.name,
        role,
        tenantId: input.tenantId ?? null,
        prefix,
        scopes,
        salt: new Uint8Array(salt),
        hash: new Uint8Array(digest(salt, secret)),
      },
    });
  });
  return { id, key: `tk_${prefix}_${secret}`, prefix, scopes };
}

type ApiKeyRow = NonNullable<Awaited<ReturnType<Db['apiKey']['findUnique']>>>;

export async function verifyApiKey(db: Db, presented: string): Promise<ApiKeyAuth | null> {
  return uncachedVerifier(db).verify(presented);
}

export interface ApiKeyVerifier {
  /** The key's tenant, role and scopes, or null when it is unknown or revoked. */
  verify(presented: string): Promise<ApiKeyAuth | null>;
  /** Drop what is kept of the key (this process revoked it: the next request must see that at once). */
  forget(prefix: string): void;
}

export interface ApiKeyMemory {
  /** What tells this process a key changed elsewhere; without it every request reads its key. */
  changes: ApiKeyChanges;
  /** A kept key is read again after this long whatever the notifications said (default 60 s). */
  ttlMs?: number;
  /** At most this many keys kept; the oldest go first (default 10,000). */
  maxKeys?: number;
}

function uncachedVerifier(db: Db): ApiKeyVerifier {
  return {
    verify: (presented) => verifyWith(db, presented, (prefix) => db.apiKey.findUnique({ where: { prefix } })),
    forget: () => undefined,
  };
}

/**
 * Verifies API keys against their stored hash. With `memory`, a verified key's row is kept in this process,
 * so a request costs no database read: every change to a key (a revocation by any replica or the CLI)
 * reaches every API process by PostgreSQL NOTIFY and drops it, and while notifications are not coming
 * (`changes.live` false: connecting, or the connection lost) nothing is kept. Unknown, revoked and wrong
 * keys are never kept, so guessing costs the database a read each time, as before, and fills no memory.
 */
export function createApiKeyVerifier(db: Db, memory?: ApiKeyMemory): ApiKeyVerifier {
  if (!memory) return uncachedVerifier(db);
  const { changes, ttlMs = 60_000, maxKeys = 10_000 } = memory;
  const kept = new Map<string, { row: ApiKeyRow; until: number }>();
  changes.onChange((prefix) => (prefix === null ? kept.clear() : kept.delete(prefix)));

  const read = async (prefix: string): Promise<ApiKeyRow | null> => {
    const hit = kept.get(prefix);
    if (hit && changes.live && hit.until > Date.now()) return hit.row;
    kept.delete(prefix);
    const seen = changes.version;
    const row = await db.apiKey.findUnique({ where: { prefix } });
    // A notification during the read may be about this very row: keep only what no change can have passed.
    if (row && !row.revokedAt && changes.live && changes.version === seen) {
      if (kept.size >= maxKeys) kept.delete(kept.keys().next().value!);
      kept.set(prefix, { row, until: Date.now() + ttlMs });
    }
    return row;
  };

  return {
    verify: (presented) => verifyWith(db, presented, read),
    forget: (prefix) => void kept.delete(prefix),
  };
}

async function verifyWith(
  db: Db,
  presented: string,
  read: (prefix: string) => Promise<ApiKeyRow | null>,
): Promise<ApiKeyAuth | null> {
  const match = KEY_PATTERN.exec(presented);
  if (!match) return null;
  const [, prefix, secret] = match as unknown as [string, string, string];
  const key = await read(prefix);
  if (!key || key.revokedAt) return null;
  const expected = Buffer.from(key.hash);
  const actual = digest(Buffer.from(key.salt), secret);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    const now = new Date();
    await db.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } });
    // A kept row is the same object: its next use within the minute writes nothing.
    key.lastUsedAt = now;
  }
  return {
    keyId: key.id,
    prefix: key.prefix,
    name: key.name,
    tenantId: key.tenantId,
    role: key.role,
    // A scope this version does not know (written by a newer one) grants nothing here.
    scopes: key.role === 'admin' ? [...API_KEY_SCOPES] : key.scopes.filter(isApiKeyScope),
  };
}

export async function revokeApiKey(db: Db, prefix: string): Promise<boolean> {
  const { count } = await db.apiKey.updateMany({
    where: { prefix, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return count > 0;
}

export async function listApiKeys(db: Db) {
  return db.apiKey.findMany({
    select: {
      prefix: true,
      name: true,
      role: true,
      tenantId: true,
      scopes: true,
      createdAt: true,
      lastUsedAt: true,
      revokedAt: true,
    },
    orderBy: { createdAt: 'asc' },
  });
}
