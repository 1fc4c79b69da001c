// Pending OAuth installs: single-use, expiring states, of which only a hash is stored.
import type { Connection, Db } from '../../platform/db';

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
    async start(connection: Connection, install: NewInstall, now: Date): Promise<void> {
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
            actor: 'api',
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
  };
}
