// An install started on the connect page returns there: the vendor's callback finds the session by the
// install's state hash and sends the browser back to the page, which then shows how the install ended.
import type { AppDeps } from '../app';
import type { TenantData } from '../tenant-data';
import { connectPagePath } from './page-url';

export async function connectPageReturn(deps: AppDeps, data: TenantData, stateHash: string) {
  const session = await data.connectSessions.byInstallState(stateHash);
  const { publicUrl } = deps;
  if (!session || !publicUrl) return null;
  return {
    /** The install counts as the user's latest action: the page shows it in progress until it is recorded. */
    async markReturned() {
      if (session.connectionId) await data.connectSessions.acted(session, session.connectionId);
    },
    /** The callback was refused: nothing happened, so nothing is in progress. */
    async unmarkReturned() {
      await data.connectSessions.restoreActed(session);
    },
    /** The page again, with how the callback went (authorized, denied, or failed and why). */
    url(outcome: string, reason?: string): string {
      const url = new URL(`${publicUrl}${connectPagePath(session.id)}`);
      url.searchParams.set('install', outcome);
      if (reason) url.searchParams.set('reason', reason);
      return url.toString();
    },
  };
}
