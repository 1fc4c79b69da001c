// Connect sessions, their tenants' return URL allowlists, and what the connect page writes on a
// connection. A session is found by its token's hash (the page) or, within a tenant, by id (the API).
import type { Quotas } from '../../platform/config';
import { Prisma, type ConnectSession, type Connection, type Db } from '../../platform/db';
import type { SecretStore } from '../../platform/secret-store';
import { actorColumns } from '../../domain/audit-events';
import { ApiError } from '../errors';
import { enforceQuota } from './quota';
import { inScope, type TenantScope } from './tenant-scope';

export interface NewConnectSession {
  id: string;
  tenantId: string;
  tokenHash: string;
  vendors: string[];
  tags: Record<string, string>;
  returnUrl: string | null;
  connectionId: string | null;
  expiresAt: Date;
}

/** The page's correction of a connection that does not work yet: field names in `changed`, never values. */
export interface Correction {
  instanceUrl: string;
  settings: Record<string, unknown>;
  sealedCredentials: ReturnType<SecretStore['sealCredentials']>;
  changed: string[];
}

/** How long a session stays readable after it expired; older ones go when the tenant creates another. */
const SESSION_RETENTION_MS = 30 * 24 * 3600_000;

export function connectSessionData(db: Db, quotas: Quotas) {
  const set = (id: string, data: Prisma.ConnectSessionUpdateInput) =>
    db.connectSession.update({ where: { id }, data });

  /** The newest audit event of a connection (any actor), 0 when none: the mark of "now" in its history. */
  async function latestEvent(connectionId: string): Promise<bigint> {
    const row = await db.auditEvent.findFirst({
      where: { connectionId },
      orderBy: { id: 'desc' },
      select: { id: true },
    });
    return row?.id ?? 0n;
  }

  return {
    /** A new session, within the tenant's quota of open ones; sessions long expired go at the same time. */
    async create(session: NewConnectSession): Promise<ConnectSession> {
      const now = new Date();
      const { tenantId } = session;
      return db.$transaction(async (tx) => {
        await tx.connectSession.deleteMany({
          where: { tenantId, expiresAt: { lt: new Date(now.getTime() - SESSION_RETENTION_MS) } },
        });
        await enforceQuota(tx, 'connectSessions', quotas.connectSessions, tenantId, () =>
          tx.connectSession.count({ where: { tenantId, completedAt: null, expiresAt: { gt: now } } }),
        );
        return tx.connectSession.create({ data: { ...session, reconnect: session.connectionId !== null } });
      });
    },

    /** The session, or 404 (another tenant's is exactly as absent). */
    async get(scope: TenantScope, id: string): Promise<ConnectSession> {
      const session = await db.connectSession.findFirst({ where: { id, ...inScope(scope) } });
      if (!session) throw new ApiError(404, 'not_found', `no connect session ${id}`);
      return session;
    },

    byTokenHash: (tokenHash: string) => db.connectSession.findUnique({ where: { tokenHash } }),

    /** What the page's response headers depend on; nothing else of a session is readable without its token. */
    framing: (id: string) =>
      db.connectSession.findUnique({
        where: { id },
        select: { returnUrl: true, expiresAt: true, completedAt: true },
      }),

    byInstallState: (stateHash: string) =>
      db.connectSession.findUnique({ where: { installStateHash: stateHash } }),

    /** Its one connection, in its own tenant. */
    connection(session: ConnectSession): Promise<Connection | null> {
      if (!session.connectionId) return Promise.resolve(null);
      return db.connection.findFirst({ where: { id: session.connectionId, tenantId: session.tenantId } });
    },

    /** The newest event the connection's workflow recorded, null when none yet. */
    async latestWorkflowEvent(connectionId: string): Promise<bigint | null> {
      const row = await db.auditEvent.findFirst({
        where: { connectionId, actor: 'workflow' },
        orderBy: { id: 'desc' },
        select: { id: true },
      });
      return row?.id ?? null;
    },

    latestEvent,

    /** The user acted (checked again, started a rotation, came back from an install): "checking" until recorded. */
    async acted(session: ConnectSession, connectionId: string): Promise<void> {
      await set(session.id, {
        actedAt: new Date(),
        actedMark: await latestEvent(connectionId),
        attemptResult: Prisma.DbNull,
      });
    },

    /** Back to what it was (a callback that was refused changed nothing). */
    restoreActed: (session: ConnectSession) =>
      set(session.id, { actedAt: session.actedAt, actedMark: session.actedMark }),

    attemptResult: (id: string, result: Prisma.InputJsonObject) => set(id, { attemptResult: result }),

    installStarted: (id: string, stateHash: string) => set(id, { installStateHash: stateHash }),

    /** End it (its token dies); false when it had ended already. */
    async end(id: string, outcome: string): Promise<boolean> {
      const ended = await db.connectSession.updateMany({
        where: { id, completedAt: null },
        data: { completedAt: new Date(), outcome },
      });
      return ended.count > 0;
    },

    /**
     * Correct a connection that does not work yet, in one transaction: address and settings when changed,
     * the merged credentials, an audit event naming the changed fields, the session's mark. 409 when the
     * connection's secrets are gone (a revoke got there first).
     */
    async correct(session: ConnectSession, connection: Connection, fix: Correction): Promise<void> {
      try {
        await db.$transaction(async (tx) => {
          if (fix.changed.includes('instanceUrl') || fix.changed.includes('settings')) {
            await tx.connection.update({
              where: { id: connection.id },
              data: { instanceUrl: fix.instanceUrl, settings: fix.settings as Prisma.InputJsonObject },
            });
          }
          await tx.connectionSecret.update({
            where: { connectionId_kind: { connectionId: connection.id, kind: 'credentials' } },
            data: { keyId: fix.sealedCredentials.keyId, sealed: fix.sealedCredentials.sealed },
          });
          const event = await tx.auditEvent.create({
            data: {
              connectionId: connection.id,
              tenantId: connection.tenantId,
              type: 'connect_corrected',
              ...actorColumns({ kind: 'connect_session', sessionId: session.id }),
              detail: { connectSessionId: session.id, changed: fix.changed },
            },
          });
          await tx.connectSession.update({
            where: { id: session.id },
            data: { actedAt: new Date(), actedMark: event.id, attemptResult: Prisma.DbNull },
          });
        });
      } catch (err) {
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025') {
          throw new ApiError(409, 'conflict', 'the connection is being revoked');
        }
        throw err;
      }
    },

    returnUrls: {
      async list(tenantId: string): Promise<string[]> {
        const rows = await db.connectReturnUrl.findMany({ where: { tenantId }, orderBy: { url: 'asc' } });
        return rows.map((r) => r.url);
      },
      async replace(tenantId: string, urls: string[]): Promise<void> {
        await db.$transaction([
          db.connectReturnUrl.deleteMany({ where: { tenantId } }),
          db.connectReturnUrl.createMany({ data: urls.map((url) => ({ tenantId, url })) }),
        ]);
      },
    },
  };
}
