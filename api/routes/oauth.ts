// OAuth installs (Slack's org-level install): start one for a connection, and the callback the vendor's
// consent page sends the admin's browser back to. The callback is the one route without an API key: the
// single-use `state` (32 random bytes, stored only as its SHA-256, valid 10 minutes) authenticates it.
//
// The callback does not redeem the code: the connection's workflow does, in an activity, so every vendor
// call and its retries happen in one place and the outcome goes through the state machine. The code is a
// short-lived secret, so it is stored encrypted (like credentials) and only an install id enters the
// workflow's history.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { completeInstallUpdate } from '../../workflows/messages';
import type { AppDeps } from '../app';
import { readScope } from '../auth';
import { sendCommand } from '../commands';
import { connectPageReturn } from '../connect/install-return';
import type { TenantData } from '../tenant-data';
import { ApiError, validationError } from '../errors';
import { hashState, startInstall } from '../oauth-install';
import {
  ErrorSchema,
  IdParamsSchema,
  InstallCallbackResultSchema,
  InstallStartedSchema,
  OAuthCallbackQuerySchema,
} from '../schemas';

export { OAUTH_CALLBACK_PATH } from '../oauth-install';

/** POST /v1/connections/:id/install, behind the API key like every other connection route. */
export const installRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  app.post(
    '/connections/:id/install',
    {
      schema: {
        tags: ['connections'],
        summary:
          "Start an OAuth install: returns the vendor's consent page, to open as the vendor account's admin (vendors linked by install, e.g. slack-grid)",
        params: IdParamsSchema,
        response: {
          201: InstallStartedSchema,
          400: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const connection = await data.connections.get(readScope(request), request.params.id);
      const { authorizeUrl, expiresAt } = await startInstall(deps, data, connection);
      return reply
        .status(201)
        .send({ connectionId: connection.id, authorizeUrl, expiresAt: expiresAt.toISOString() });
    },
  );
};

/** GET /v1/oauth/callback: no API key (the admin's browser comes here from the vendor); the state decides. */
export const oauthCallbackRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  const { secrets } = deps;

  /** Hands the install to the workflow; refuses an unknown, used or expired state with an ApiError. */
  async function completeCallback({ state, code, error }: { state: string; code?: string; error?: string }) {
    const stateHash = hashState(state);
    const pending = await data.installs.find(stateHash);
    if (!pending) throw new ApiError(400, 'invalid_state', 'unknown state: start the install again');
    if (pending.usedAt)
      throw new ApiError(400, 'state_used', 'this install already came back once: start it again');
    const now = new Date();
    if (pending.expiresAt <= now) {
      throw new ApiError(
        400,
        'state_expired',
        'the install was not completed within 10 minutes: start it again',
      );
    }
    if (!code && !error)
      throw validationError([{ field: 'querystring.code', message: 'a code or an error is required' }]);
    // Claim the state; of two callbacks racing with it, only one gets here.
    if (!(await data.installs.claim(stateHash, now)))
      throw new ApiError(400, 'state_used', 'this install already came back once: start it again');
    // The state authenticates the callback, for its own tenant's connection only.
    const connection = await data.connections.find(pending.tenantId, pending.connectionId);
    if (!connection) throw new ApiError(400, 'invalid_state', 'the connection of this install is gone');

    if (error) {
      const accepted = await sendCommand(deps, connection, completeInstallUpdate, [{ denied: error }]);
      return {
        httpStatus: 200 as const,
        body: {
          connectionId: connection.id,
          outcome: 'denied' as const,
          status: accepted.status,
          message: `the install was not approved (${error}): start it again`,
        },
      };
    }
    const installId = randomUUID();
    await secrets.saveAuthorizationCode(connection.id, installId, {
      code: code!,
      redirectUri: pending.redirectUri,
    });
    let accepted;
    try {
      accepted = await sendCommand(deps, connection, completeInstallUpdate, [{ installId }]);
    } catch (err) {
      await secrets.deleteAuthorizationCode(connection.id, installId);
      throw err;
    }
    return {
      httpStatus: 202 as const,
      body: {
        connectionId: connection.id,
        outcome: 'authorized' as const,
        status: accepted.status,
        message: 'installed: the token is being obtained and verified; watch the connection become active',
      },
    };
  }

  app.get(
    '/oauth/callback',
    {
      schema: {
        tags: ['oauth'],
        summary:
          "Where the vendor's consent page returns (the redirect URI): hands the install to the connection's workflow. An unknown, expired or used state is refused and changes nothing. An install started on the connect page is sent back there (303) with the outcome.",
        querystring: OAuthCallbackQuerySchema,
        response: {
          200: InstallCallbackResultSchema,
          202: InstallCallbackResultSchema,
          400: ErrorSchema,
          409: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const page = await connectPageReturn(deps, data, hashState(request.query.state));
      if (!page) {
        const { httpStatus, body } = await completeCallback(request.query);
        return reply.status(httpStatus).send(body);
      }
      // Marked before the workflow hears of the install, so the page shows it as in progress until it ends.
      await page.markReturned();
      try {
        const { body } = await completeCallback(request.query);
        return reply.redirect(page.url(body.outcome), 303);
      } catch (err) {
        await page.unmarkReturned();
        if (err instanceof ApiError) return reply.redirect(page.url('failed', err.code), 303);
        throw err;
      }
    },
  );
};
