// Pending OAuth installs: single-use, expiring states, of which only a hash is stored.
import type { Connection, Db } from '../../platform/db';
import { actorColumns, type Actor } from '../../domain/audit-events';

export interface NewInstall {
  stateHash: string;
  redirectUri: string;
  expiresAt: Date;
}

export function installData(db: Db) {
  return {
    /**
     * Store the install's state and its audit event. This connection's expired states go, and its other
     * pending ones are superseded: only the newest install link works.
     */
    async start(connection: Connection, install: NewInstall, now: Date, actor: Actor): Promise<void> {
      const { id: connectionId, tenantId } = connection;
      await db.$transaction([
        // Used and superseded states stay until they expire, so a late callback is told why it is refused.
        db.oAuthState.deleteMany({ where: { connectionId, expiresAt: { lt: now } } }),
        db.oAuthState.updateMany({
          where: { connectionId, usedAt: null, supersededAt: null },
          data: { supersededAt: now },
        }),
        db.oAuthState.create({ data: { ...install, connectionId, tenantId } }),
        db.auditEvent.create({
          data: {
            connectionId,
            tenantId,
            type: 'install_started',
            ...actorColumns(actor),
            detail: { expiresAt: install.expiresAt.toISOString() },
          },
        }),
      ]);
    },

    find(stateHash: string) {
      return db.oAuthState.findUnique({ where: { stateHash } });
    },

    /** Mark the state used; false when another callback claimed it first, or it expired or was superseded meanwhile. */
    async claim(stateHash: string, now: Date): Promise<boolean> {
      const claimed = await db.oAuthState.updateMany({
        where: { stateHash, usedAt: null, supersededAt: null, expiresAt: { gt: now } },
        data: { usedAt: now },
      });
      return claimed.count > 0;
    },

    /** The install's code is stored: a retried callback hands over that one. */
    async codeStored(stateHash: string, now: Date): Promise<void> {
      await db.oAuthState.update({ where: { stateHash }, data: { codeStoredAt: now } });
    },

    /**
     * Give a claimed state back when its install could not be handed to the workflow for certain, so
     * the admin's browser can retry the same callback (it attaches to the same workflow update).
     */
    async release(stateHash: string): Promise<void> {
      await db.oAuthState.updateMany({ where: { stateHash }, data: { usedAt: null } });
    },
  };
}
