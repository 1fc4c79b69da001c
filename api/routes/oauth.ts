// OAuth installs (Slack's org-level install): start one for a connection, and the callback the vendor's
// consent page sends the admin's browser back to. The callback is the one route without an API key: the
// single-use `state` (32 random bytes, stored only as its SHA-256, valid 10 minutes) authenticates it.
//
// The callback does not redeem the code: the connection's workflow does, in an activity, so every vendor
// call and its retries happen in one place and the outcome goes through the state machine. The code is a
// short-lived secret, so it is stored encrypted (like credentials) and only an install id enters the
// workflow's history.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { findVendor } from '../../catalog';
import type { Connection } from '../../platform/db';
import { completeInstallUpdate } from '../../workflows/messages';
import type { InstallResult } from '../../domain/connection';
import type { AddressLimit } from '../address-limit';
import type { AppDeps } from '../app';
import { readScope, requestActor } from '../auth';
import { commandUpdateId, sendCommand } from '../commands';
import { connectPageReturn } from '../connect/install-return';
import type { TenantData } from '../tenant-data';
import { ApiError, errorHandler, validationError } from '../errors';
import { INSTALL_PAGE_CSP, renderInstallPage } from '../install-page';
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
      const { authorizeUrl, expiresAt } = await startInstall(deps, data, connection, requestActor(request));
      return reply
        .status(201)
        .send({ connectionId: connection.id, authorizeUrl, expiresAt: expiresAt.toISOString() });
    },
  );
};

/** How the callback ended: what a JSON caller gets, and the connection it concerns when the state named one. */
interface CallbackAnswer {
  statusCode: number;
  body: z.output<typeof InstallCallbackResultSchema> | ReturnType<ApiError['toBody']>;
  connection?: Connection;
}

/**
 * GET /v1/oauth/callback: no API key (the admin's browser comes here from the vendor); the state decides.
 * An install started on the connect page goes back there; otherwise a browser ends on a small page saying
 * what happened (or, with TETHER_INSTALL_RETURN_URL, is sent back to the customer's app with the outcome),
 * and a caller that asks for JSON gets JSON.
 */
export const oauthCallbackRoutes: FastifyPluginAsyncZod<{
  deps: AppDeps;
  data: TenantData;
  addressLimit: AddressLimit;
}> = async (app, { deps, data, addressLimit }) => {
  const { secrets } = deps;

  /** Hands the install to the workflow; refuses an unknown, used, superseded or expired state with an ApiError. */
  async function completeCallback({
    state,
    code,
    error,
  }: z.output<typeof OAuthCallbackQuerySchema>): Promise<CallbackAnswer> {
    const stateHash = hashState(state);
    const now = new Date();
    const pending = await data.installs.find(stateHash);
    const refused = stateRefusal(pending, now);
    if (refused) throw refused;
    if (!code && !error)
      throw validationError([{ field: 'querystring.code', message: 'a code or an error is required' }]);
    // Claim the state; of two callbacks racing with it (or with a newer install), only one gets here.
    if (!(await data.installs.claim(stateHash, now))) {
      throw stateRefusal(await data.installs.find(stateHash), now) ?? stateUsed();
    }
    // The state authenticates the callback, for its own tenant's connection only.
    const connection = await data.connections.find(pending!.tenantId, pending!.connectionId);
    if (!connection) throw new ApiError(400, 'invalid_state', 'the connection of this install is gone');

    // One update per state, so a callback retried after a timeout attaches to the first one's update.
    const updateId = commandUpdateId(deps, connection, 'install', stateHash);
    const handOver = async (result: InstallResult) => {
      try {
        // install_started named who started the install; what it leads to, the workflow records.
        return (await sendCommand(deps, connection, completeInstallUpdate, [result], { updateId })).status;
      } catch (err) {
        // Not known to have reached the workflow: the state is given back, so the same callback can retry.
        if (err instanceof ApiError && err.statusCode === 503) await data.installs.release(stateHash);
        throw err;
      }
    };

    if (error) {
      return {
        statusCode: 200,
        connection,
        body: {
          connectionId: connection.id,
          outcome: 'denied' as const,
          status: await handOver({ denied: error }),
          message: `the install was not approved (${error}): start it again`,
        },
      };
    }
    // The code is stored once, under the update's id; a retried callback hands over that one.
    const installId = updateId;
    if (!pending!.codeStoredAt) {
      await secrets.saveAuthorizationCode(connection.id, installId, {
        code: code!,
        redirectUri: pending!.redirectUri,
      });
      await data.installs.codeStored(stateHash, now);
    }
    let status;
    try {
      status = await handOver({ installId });
    } catch (err) {
      // Refused by the workflow: nothing will redeem the code.
      if (err instanceof ApiError && err.statusCode === 409) {
        await secrets.deleteAuthorizationCode(connection.id, installId);
      }
      throw err;
    }
    return {
      statusCode: 202,
      connection,
      body: {
        connectionId: connection.id,
        outcome: 'authorized' as const,
        status,
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
          "Where the vendor's consent page returns (the redirect URI): hands the install to the connection's workflow. An unknown, expired, used or superseded state is refused and changes nothing. An install started on the connect page is sent back there (303) with the outcome; otherwise the answer is a small HTML page, a 303 to TETHER_INSTALL_RETURN_URL when set, or JSON (below) for `Accept: application/json`.",
        querystring: OAuthCallbackQuerySchema,
        response: {
          200: InstallCallbackResultSchema,
          202: InstallCallbackResultSchema,
          400: ErrorSchema,
          409: ErrorSchema,
          503: ErrorSchema,
        },
      },
      // No key here: the address's budget stands in for one, spent before the state is looked up.
      onRequest: async (request) => {
        addressLimit.check(request);
        addressLimit.count(request);
      },
      // Refusals and malformed links reach the browser the same way as outcomes; anything else as JSON.
      errorHandler(err, request, reply) {
        if (wantsJson(request)) return errorHandler(err, request, reply);
        if (err instanceof ApiError) {
          if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
          return answer(request, reply, { statusCode: err.statusCode, body: err.toBody() });
        }
        if (hasZodFastifySchemaValidationErrors(err)) {
          const refused = new ApiError(
            400,
            'invalid_request',
            'this is not a complete install link: start the install again',
          );
          return answer(request, reply, { statusCode: 400, body: refused.toBody() });
        }
        return errorHandler(err, request, reply);
      },
    },
    async (request, reply) => {
      const page = await connectPageReturn(deps, data, hashState(request.query.state));
      if (!page) return answer(request, reply, await completeCallback(request.query));
      // Marked before the workflow hears of the install, so the page shows it as in progress until it ends.
      await page.markReturned();
      try {
        const { body } = await completeCallback(request.query);
        return reply.redirect(page.url('outcome' in body ? body.outcome : 'failed'), 303);
      } catch (err) {
        await page.unmarkReturned();
        if (err instanceof ApiError) return reply.redirect(page.url('failed', err.code), 303);
        throw err;
      }
    },
  );

  /** JSON for callers that ask for it; otherwise a redirect to the configured return URL, or the page. */
  function answer(
    request: FastifyRequest,
    reply: FastifyReply,
    { statusCode, body, connection }: CallbackAnswer,
  ) {
    if (wantsJson(request)) return reply.status(statusCode).send(body);
    const outcome = 'outcome' in body ? body.outcome : 'error';
    reply.header('cache-control', 'no-store');
    if (deps.installReturnUrl) {
      const back = new URL(deps.installReturnUrl);
      back.searchParams.set('outcome', outcome);
      if (connection) back.searchParams.set('connectionId', connection.id);
      if ('status' in body) back.searchParams.set('status', body.status);
      if ('error' in body) back.searchParams.set('error', body.error);
      back.searchParams.set('message', body.message);
      return reply.redirect(back.toString(), 303);
    }
    const vendor = connection ? `${findVendor(connection.vendor)?.shortName ?? connection.vendor} ` : '';
    const titles = {
      authorized: `${vendor}app installed`,
      denied: `${vendor}install not approved`,
      error: `${vendor}install link not accepted`,
    } as const;
    const page = renderInstallPage({
      ok: outcome === 'authorized',
      title: titles[outcome].replace(/^./, (c) => c.toUpperCase()),
      message: body.message,
      details: [
        ...(connection
          ? ([['Connection', `${connection.name} (${connection.id})`]] as [string, string][])
          : []),
        ...('status' in body ? ([['Status', body.status]] as [string, string][]) : []),
      ],
    });
    return reply
      .status(statusCode)
      .header('content-security-policy', INSTALL_PAGE_CSP)
      .type('text/html; charset=utf-8')
      .send(page);
  }
};

/** Why a state cannot complete an install, or null while it can (unused, current, unexpired). */
function stateRefusal(
  pending: { usedAt: Date | null; supersededAt: Date | null; expiresAt: Date } | null,
  now: Date,
): ApiError | null {
  if (!pending) return new ApiError(400, 'invalid_state', 'unknown state: start the install again');
  if (pending.usedAt) return stateUsed();
  if (pending.supersededAt) {
    return new ApiError(
      400,
      'state_superseded',
      'a newer install of this connection was started after this one, so this link no longer works: finish the install from the newest link, or start it again',
    );
  }
  if (pending.expiresAt <= now) {
    return new ApiError(
      400,
      'state_expired',
      'the install was not completed within 10 minutes: start it again',
    );
  }
  return null;
}

const stateUsed = () =>
  new ApiError(400, 'state_used', 'this install already came back once: start it again');

/** A caller that names JSON and not HTML (a script, a test); browsers ask for HTML first. */
function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /\bapplication\/json\b/i.test(accept) && !/\btext\/html\b/i.test(accept);
}
