// The connect page's API authenticates with the session token (`Authorization: Bearer cst_…`), never an
// API key: a token names exactly one session, which names at most one connection, so nothing a page
// request carries can reach another connection or tenant.
import type { FastifyInstance } from 'fastify';
import type { ConnectSession } from '../../platform/db';
import type { AddressLimit } from '../address-limit';
import { ApiError } from '../errors';
import type { TenantData } from '../tenant-data';
import { hashSessionToken } from './session-token';

declare module 'fastify' {
  interface FastifyRequest {
    connectSession: ConnectSession;
  }
}

/** The OpenAPI document's security scheme of the connect page's API. */
export const CONNECT_SESSION_SECURITY_SCHEME = {
  connectSession: {
    type: 'http' as const,
    scheme: 'bearer',
    description: 'A connect session token (cst_…) from POST /v1/connect-sessions; not an API key',
  },
};

/**
 * Every route registered after this in `app`'s scope needs a session token, and its OpenAPI entry says so.
 * Like the other keyless routes, the address's budget is checked before the token is looked up, and a
 * refused token counts against it: session tokens cannot be guessed at speed.
 */
export function requireSessionToken(
  app: FastifyInstance,
  data: TenantData,
  addressLimit: AddressLimit,
): void {
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [{ connectSession: [] }] };
  });
  app.decorateRequest('connectSession', null as unknown as ConnectSession);
  app.addHook('onRequest', async (request) => {
    addressLimit.check(request);
    const refuse = (error: string, message: string) => {
      addressLimit.count(request);
      return new ApiError(401, error, message);
    };
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!token) throw refuse('session_invalid', 'send the connect session token as a Bearer token');
    const session = await data.connectSessions.byTokenHash(hashSessionToken(token));
    if (!session) throw refuse('session_invalid', 'this connect link is not valid');
    if (session.completedAt) throw refuse('session_completed', 'this connect link was already used');
    if (session.expiresAt <= new Date()) throw refuse('session_expired', 'this connect link has expired');
    request.connectSession = session;
  });
}
