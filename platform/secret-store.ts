// The only place secrets are read or written. Each row is a JSON document sealed by the
// SecretBox with its connection id and kind as context; nothing else in the database is secret.
import type { Db, Prisma } from './db';
import type { SecretBox } from './secret-box';

type Kind = 'credentials' | 'staged_credentials' | 'access_token' | 'refresh_token' | 'authorization_code';

/** An OAuth install's code, kept only until the activity redeems it (minutes). */
export interface AuthorizationCode {
  code: string;
  redirectUri: string;
}

/** Credentials as the customer gave them (field names from the vendor's credential schema). */
export type Credentials = Record<string, string>;

interface StagedCandidate {
  credentials: Credentials;
  accessToken?: string;
  /** A settings change verified like a rotation: the settings to try the credentials with, and make live. */
  settings?: Record<string, unknown>;
}

export type SecretStore = ReturnType<typeof createSecretStore>;

/** A webhook endpoint's sealed secrets, as its row holds them (null once wiped). */
export interface SealedWebhookSecrets {
  id: string;
  secretKeyId: string | null;
  secretSealed: Uint8Array | null;
  previousSecretKeyId: string | null;
  previousSecretSealed: Uint8Array | null;
  previousSecretExpiresAt: Date | null;
}

export function createSecretStore(db: Db, box: SecretBox) {
  /** The endpoint's current signing secret; an error for a deleted endpoint (its secret is wiped). */
  function openWebhookSecret(endpoint: SealedWebhookSecrets): string {
    if (endpoint.secretKeyId === null || endpoint.secretSealed === null) {
      throw new Error(`webhook endpoint ${endpoint.id} has no secret (deleted)`);
    }
    return box.open(
      { keyId: endpoint.secretKeyId, sealed: Buffer.from(endpoint.secretSealed) },
      `webhook/${endpoint.id}`,
    );
  }

  const context = (connectionId: string, kind: Kind) => `${connectionId}/${kind}`;

  function seal(connectionId: string, kind: Kind, value: unknown) {
    return box.seal(JSON.stringify(value), context(connectionId, kind));
  }

  async function read<T>(connectionId: string, kind: Kind, client: Pick<Db, 'connectionSecret'> = db) {
    const row = await client.connectionSecret.findUnique({
      where: { connectionId_kind: { connectionId, kind } },
    });
    if (!row) return null;
    const value = JSON.parse(
      box.open({ keyId: row.keyId, sealed: Buffer.from(row.sealed) }, context(connectionId, kind)),
    ) as T;
    return { value, rotationId: row.rotationId };
  }

  async function write(
    connectionId: string,
    kind: Kind,
    value: unknown,
    rotationId: string | null = null,
    client: Pick<Db, 'connectionSecret'> = db,
  ) {
    const { keyId, sealed } = seal(connectionId, kind, value);
    const data = { keyId, sealed: new Uint8Array(sealed), rotationId };
    await client.connectionSecret.upsert({
      where: { connectionId_kind: { connectionId, kind } },
      create: { connectionId, kind, ...data },
      update: data,
    });
  }

  return {
    /** Keyed hash of a request that contains secrets (JSON with sorted keys). */
    fingerprint(value: unknown): string {
      return box.fingerprint(canonicalJson(value));
    },

    /** Whether `value` is the request `fingerprint` was made of, whichever configured key made it. */
    matchesFingerprint(value: unknown, fingerprint: string): boolean {
      return box.matchesFingerprint(canonicalJson(value), fingerprint);
    },

    /** Sealed credentials row for creating a connection inside the caller's transaction. */
    sealCredentials(connectionId: string, credentials: Credentials) {
      const { keyId, sealed } = seal(connectionId, 'credentials', credentials);
      return { kind: 'credentials' as const, keyId, sealed: new Uint8Array(sealed) };
    },

    async readCredentials(connectionId: string): Promise<Credentials | null> {
      return (await read<Credentials>(connectionId, 'credentials'))?.value ?? null;
    },

    /**
     * Stage rotation candidate credentials, with the settings to use them with when the rotation is a settings
     * change; a newer rotation replaces an older one.
     */
    async stageCandidate(
      connectionId: string,
      rotationId: string,
      credentials: Credentials,
      settings?: Record<string, unknown>,
    ): Promise<void> {
      const staged: StagedCandidate = settings ? { credentials, settings } : { credentials };
      await write(connectionId, 'staged_credentials', staged, rotationId);
    },

    /** The staged candidate with the rotation it belongs to, its settings if staged, and its token once granted. */
    async readCandidate(connectionId: string): Promise<{
      credentials: Credentials;
      rotationId: string | null;
      accessToken: string | null;
      settings: Record<string, unknown> | null;
    } | null> {
      const row = await read<StagedCandidate>(connectionId, 'staged_credentials');
      return row
        ? {
            credentials: row.value.credentials,
            rotationId: row.rotationId,
            accessToken: row.value.accessToken ?? null,
            settings: row.value.settings ?? null,
          }
        : null;
    },

    async saveAccessToken(connectionId: string, accessToken: string): Promise<void> {
      await write(connectionId, 'access_token', { accessToken });
    },

    /** A candidate's token waits beside it until the rotation is accepted. */
    async saveCandidateToken(connectionId: string, rotationId: string, accessToken: string): Promise<void> {
      const current = await read<StagedCandidate>(connectionId, 'staged_credentials');
      if (!current || current.rotationId !== rotationId) return;
      await write(connectionId, 'staged_credentials', { ...current.value, accessToken }, rotationId);
    },

    async readAccessToken(connectionId: string): Promise<string | null> {
      return (await read<{ accessToken: string }>(connectionId, 'access_token'))?.value.accessToken ?? null;
    },

    async saveRefreshToken(connectionId: string, refreshToken: string): Promise<void> {
      await write(connectionId, 'refresh_token', { refreshToken });
    },

    async readRefreshToken(connectionId: string): Promise<string | null> {
      return (
        (await read<{ refreshToken: string }>(connectionId, 'refresh_token'))?.value.refreshToken ?? null
      );
    },

    /**
     * An access token with the refresh token that came with it, together: a rotated refresh token never
     * sits beside a stale access token, and none left from an earlier install outlives a pair without one.
     */
    async saveTokens(
      connectionId: string,
      tokens: { accessToken: string; refreshToken: string | null },
    ): Promise<void> {
      await db.$transaction(async (tx) => {
        await write(connectionId, 'access_token', { accessToken: tokens.accessToken }, null, tx);
        if (tokens.refreshToken) {
          await write(connectionId, 'refresh_token', { refreshToken: tokens.refreshToken }, null, tx);
        } else {
          await tx.connectionSecret.deleteMany({ where: { connectionId, kind: 'refresh_token' } });
        }
      });
    },

    /** Keep an install's code for the workflow's activity; a newer install replaces an older one's. */
    async saveAuthorizationCode(
      connectionId: string,
      installId: string,
      grant: AuthorizationCode,
    ): Promise<void> {
      await write(connectionId, 'authorization_code', grant, installId);
    },

    /** The code stored for this install, or null when it is gone (redeemed, or replaced by a newer install). */
    async readAuthorizationCode(connectionId: string, installId: string): Promise<AuthorizationCode | null> {
      const row = await read<AuthorizationCode>(connectionId, 'authorization_code');
      return row && row.rotationId === installId ? row.value : null;
    },

    async deleteAuthorizationCode(connectionId: string, installId: string): Promise<void> {
      await db.connectionSecret.deleteMany({
        where: { connectionId, kind: 'authorization_code', rotationId: installId },
      });
    },

    /**
     * Make the candidate live, atomically: credentials, token and staged settings replace the old ones
     * together. False when the staged row belongs to another (newer) rotation.
     */
    async promoteCandidate(connectionId: string, rotationId: string): Promise<boolean> {
      return db.$transaction(async (tx) => {
        const staged = await read<StagedCandidate>(connectionId, 'staged_credentials', tx);
        if (!staged || staged.rotationId !== rotationId) return false;
        await write(connectionId, 'credentials', staged.value.credentials, null, tx);
        if (staged.value.accessToken) {
          await write(connectionId, 'access_token', { accessToken: staged.value.accessToken }, null, tx);
        } else {
          await tx.connectionSecret.deleteMany({ where: { connectionId, kind: 'access_token' } });
        }
        if (staged.value.settings) {
          await tx.connection.update({
            where: { id: connectionId },
            data: { settings: staged.value.settings as Prisma.InputJsonObject },
          });
        }
        await tx.connectionSecret.delete({
          where: { connectionId_kind: { connectionId, kind: 'staged_credentials' } },
        });
        return true;
      });
    },

    async discardCandidate(connectionId: string, rotationId: string): Promise<void> {
      await db.connectionSecret.deleteMany({
        where: { connectionId, kind: 'staged_credentials', rotationId },
      });
    },

    /** A webhook endpoint's signing secret, sealed for its row. */
    sealWebhookSecret(endpointId: string, secret: string) {
      const { keyId, sealed } = box.seal(secret, `webhook/${endpointId}`);
      return { secretKeyId: keyId, secretSealed: new Uint8Array(sealed) };
    },

    openWebhookSecret,

    /** What a delivery is signed with: the current secret, then the one a rotation replaced while it overlaps. */
    openWebhookSigningSecrets(endpoint: SealedWebhookSecrets, now: Date): string[] {
      const current = openWebhookSecret(endpoint);
      const { previousSecretKeyId: keyId, previousSecretSealed: sealed, previousSecretExpiresAt } = endpoint;
      if (keyId === null || sealed === null || !previousSecretExpiresAt || previousSecretExpiresAt <= now) {
        return [current];
      }
      return [current, box.open({ keyId, sealed: Buffer.from(sealed) }, `webhook/${endpoint.id}`)];
    },

    async wipe(connectionId: string): Promise<number> {
      return (await db.connectionSecret.deleteMany({ where: { connectionId } })).count;
    },
  };
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
