// OAuth installs (Slack's org-level install): start one for a connection, and the callback the vendor's
// consent page sends the admin's browser back to. The callback is the one route without an API key: the
// single-use `state` (32 random bytes, stored only as its SHA-256, valid 10 minutes) authenticates it.
//
// The callback does not redeem the code: the connection's workflow does, in an activity, so every vendor
// call and its retries happen in one place and the outcome goes through the state machine. The code is a
// short-lived secret, so it is stored encrypted (like credentials) and only an install id enters the
// workflow's history.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getVendor } from '../../catalog';
import { vendorContext } from '../../vendor-kit/context';
import type { VendorHttp } from '../../vendor-kit/vendor-http';
import { requiredScopes } from '../../vendor-kit/scope-verification';
import { completeInstallUpdate } from '../../workflows/messages';
import type { AppDeps } from '../app';
import { readScope } from '../auth';
import { sendCommand } from '../commands';
import type { TenantData } from '../tenant-data';
import { ApiError, validationError } from '../errors';
import {
  ErrorSchema,
  IdParamsSchema,
  InstallCallbackResultSchema,
  InstallStartedSchema,
  OAuthCallbackQuerySchema,
} from '../schemas';

/** Registered under /v1; the redirect URI customers add to their app is TETHER_PUBLIC_URL + this. */
export const OAUTH_CALLBACK_PATH = '/v1/oauth/callback';
const STATE_LIFETIME_MS = 10 * 60_000;

const hashState = (state: string) => createHash('sha256').update(state).digest('hex');

/** Vendors are called by the workflow only; building a consent-page URL needs no call. */
const noVendorCalls: VendorHttp = {
  send: () => Promise.reject(new Error('the API does not call vendors')),
};

/** POST /v1/connections/:id/install, behind the API key like every other connection route. */
export const installRoutes: FastifyPluginAsyncZod<{ deps: AppDeps; data: TenantData }> = async (
  app,
  { deps, data },
) => {
  const { secrets } = deps;

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
      const vendor = getVendor(connection.vendor);
      if (vendor.auth.kind !== 'oauth2_install') {
        throw new ApiError(
          409,
          'conflict',
          `${vendor.name} is linked with its credentials, not by an install`,
        );
      }
      if (['revoking', 'revoked', 'paused'].includes(connection.status)) {
        throw new ApiError(409, 'conflict', `connection is ${connection.status}`);
      }
      if (!deps.publicUrl) {
        throw new ApiError(
          503,
          'not_configured',
          'TETHER_PUBLIC_URL is not set, so an install has no redirect URI',
        );
      }
      const credentials = await secrets.readCredentials(connection.id);
      if (!credentials?.clientId) throw new ApiError(409, 'conflict', 'the connection has no client id');

      const state = randomBytes(32).toString('base64url');
      const redirectUri = `${deps.publicUrl}${OAUTH_CALLBACK_PATH}`;
      const now = new Date();
      const expiresAt = new Date(now.getTime() + STATE_LIFETIME_MS);
      const ctx = vendorContext(connection, noVendorCalls, deps.vendorEndpoints);
      const authorizeUrl = vendor.auth.authorizeUrl(ctx, {
        clientId: credentials.clientId,
        redirectUri,
        state,
        scopes: requiredScopes(vendor, ctx).map((s) => s.scope),
      });
      await data.installs.start(connection, { stateHash: hashState(state), redirectUri, expiresAt }, now);
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

  app.get(
    '/oauth/callback',
    {
      schema: {
        tags: ['oauth'],
        summary:
          "Where the vendor's consent page returns (the redirect URI): hands the install to the connection's workflow. An unknown, expired or used state is refused and changes nothing.",
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
      const { state, code, error } = request.query;
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
        return reply.status(200).send({
          connectionId: connection.id,
          outcome: 'denied' as const,
          status: accepted.status,
          message: `the install was not approved (${error}): start it again`,
        });
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
      return reply.status(202).send({
        connectionId: connection.id,
        outcome: 'authorized' as const,
        status: accepted.status,
        message: 'installed: the token is being obtained and verified; watch the connection become active',
      });
    },
  );
};
