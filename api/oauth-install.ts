// Starting an OAuth install (Slack's org-level install) for a connection: a single-use state, stored only as
// its SHA-256 and valid 10 minutes, and the vendor's consent page to send the admin's browser to. Used by
// POST /v1/connections/:id/install and by the connect page.
import { createHash, randomBytes } from 'node:crypto';
import { getVendor } from '../catalog';
import type { Connection } from '../platform/db';
import type { Actor } from '../domain/audit-events';
import { vendorContext } from '../vendor-kit/context';
import type { VendorHttp } from '../vendor-kit/vendor-http';
import { requestedScopes } from '../vendor-kit/scope-verification';
import type { AppDeps } from './app';
import { ApiError } from './errors';
import type { TenantData } from './tenant-data';

/** Registered under /v1; the redirect URI customers add to their app is TETHER_PUBLIC_URL + this. */
export const OAUTH_CALLBACK_PATH = '/v1/oauth/callback';
export const STATE_LIFETIME_MS = 10 * 60_000;

export const hashState = (state: string) => createHash('sha256').update(state).digest('hex');

/** Building a consent-page URL calls no vendor. */
const noVendorCalls: VendorHttp = {
  send: () => Promise.reject(new Error('the API does not call vendors')),
};

export interface StartedInstall {
  authorizeUrl: string;
  expiresAt: Date;
  stateHash: string;
}

export async function startInstall(
  deps: AppDeps,
  data: TenantData,
  connection: Connection,
  actor: Actor,
): Promise<StartedInstall> {
  const { secrets } = deps;
  const vendor = getVendor(connection.vendor);
  if (vendor.auth.kind !== 'oauth2_install') {
    throw new ApiError(409, 'conflict', `${vendor.name} is linked with its credentials, not by an install`);
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
  const stateHash = hashState(state);
  const redirectUri = `${deps.publicUrl}${OAUTH_CALLBACK_PATH}`;
  const now = new Date();
  const expiresAt = new Date(now.getTime() + STATE_LIFETIME_MS);
  const ctx = vendorContext(connection, noVendorCalls, deps.vendorEndpoints);
  const authorizeUrl = vendor.auth.authorizeUrl(ctx, {
    clientId: credentials.clientId,
    redirectUri,
    state,
    scopes: requestedScopes(vendor, ctx).map((s) => s.scope),
  });
  await data.installs.start(connection, { stateHash, redirectUri, expiresAt }, now, actor);
  return { authorizeUrl, expiresAt, stateHash };
}
