// Installs, stored: redeem an install's code and renew installed tokens through the vendor's hooks, keeping
// the tokens with the care single-use (rotating) refresh tokens need.
//
// A rotating refresh token is spent the moment the vendor answers, and its successor exists only in that
// answer. So the answer is saved before anything else happens (and the save is retried in place). What is
// left: if the process dies between the vendor's answer and the commit, the successor is lost and the retry
// presents the spent token, which the vendor refuses (invalid_refresh_token): the connection then needs a
// new install (needs_reauth). The window is one database write; Slack has no grace period for a reused
// refresh token that would let us do better.
import { setTimeout as sleep } from 'node:timers/promises';
import type { TokenInfo } from '../domain/connection';
import { FailureType } from '../domain/failures';
import type { SecretStore } from '../platform/secret-store';
import type {
  ClientCredentials,
  InstallTarget,
  InstalledTokens,
  OAuthInstallAuth,
  VendorContext,
} from '../vendor-kit/definition';
import { VendorError } from '../vendor-kit/vendor-error';

const SAVE_ATTEMPTS = 3;
const SAVE_RETRY_MS = 200;

/** Where the connection's earlier installs went, and how to record a new one, or revoke a refused one. */
export interface InstallPlace {
  previous: InstallTarget | null;
  record(installedOn: InstallTarget): Promise<void>;
  /** Revoke a token the vendor issued for an install that is refused (nobody would manage it). */
  revoke(accessToken: string): Promise<void>;
}

/**
 * Redeem the code the API stored for this install and store the tokens. The code is spent once the vendor
 * answered; only when no answer came (network, 5xx) is it kept for the activity's retry. An install the
 * vendor's `refuseInstall` refuses (the wrong place) keeps nothing: its token is revoked at the vendor, and
 * the failure (InvalidConfiguration) says what to do instead.
 */
export async function completeInstall(
  auth: OAuthInstallAuth,
  ctx: VendorContext,
  secrets: SecretStore,
  connectionId: string,
  installId: string,
  place: InstallPlace,
): Promise<TokenInfo> {
  const grant = await secrets.readAuthorizationCode(connectionId, installId);
  if (!grant) throw new VendorError(FailureType.RotationSuperseded, 'a newer install replaced this one');
  const client = await clientCredentials(secrets, connectionId);
  const obtainedAt = Date.now();
  let tokens: InstalledTokens;
  try {
    tokens = await auth.exchangeCode(ctx, client, grant);
  } catch (err) {
    // A code is spent once the vendor answered it; an outage or a 429 means it was never redeemed, so the
    // activity's retry needs it.
    const unanswered =
      err instanceof VendorError &&
      (err.type === FailureType.VendorUnavailable || err.type === FailureType.RateLimited);
    if (!unanswered) await secrets.deleteAuthorizationCode(connectionId, installId);
    throw err;
  }
  const refusal = auth.refuseInstall?.(tokens.installedOn ?? null, place.previous) ?? null;
  if (refusal !== null) {
    await secrets.deleteAuthorizationCode(connectionId, installId);
    // Best effort: the refusal stands whether or not the vendor took the revocation.
    if (tokens.accessToken !== null) await place.revoke(tokens.accessToken).catch(() => undefined);
    throw new VendorError(FailureType.InvalidConfiguration, refusal);
  }
  if (tokens.accessToken !== null)
    await saveTokens(secrets, connectionId, tokens.accessToken, tokens.refreshToken);
  if (tokens.installedOn) await place.record(tokens.installedOn);
  await secrets.deleteAuthorizationCode(connectionId, installId);
  return tokenInfo(obtainedAt, tokens);
}

/**
 * Renew an installed token with its refresh token. Without one (no rotation) the token never expires and
 * there is nothing to renew: the probes tell whether it still works.
 */
export async function renewInstalledToken(
  auth: OAuthInstallAuth,
  ctx: VendorContext,
  secrets: SecretStore,
  connectionId: string,
): Promise<TokenInfo> {
  const obtainedAt = Date.now();
  const refreshToken = await secrets.readRefreshToken(connectionId);
  if (!refreshToken) {
    if (!(await secrets.readAccessToken(connectionId))) {
      throw new VendorError(FailureType.InvalidCredentials, 'no token yet: install the app first');
    }
    return { obtainedAt, expiresAt: null, grantedScopes: null, credentialExpiresAt: null };
  }
  const client = await clientCredentials(secrets, connectionId);
  let tokens: InstalledTokens;
  try {
    tokens = await auth.refreshToken(ctx, client, refreshToken);
  } catch (err) {
    // A refused refresh token never works again (already used, or its install revoked): retrying cannot help.
    if (err instanceof VendorError && err.type === FailureType.InvalidCredentials) {
      throw new VendorError(FailureType.ReauthRequired, `${err.message}; install the app again`);
    }
    throw err;
  }
  if (tokens.accessToken === null) {
    throw new VendorError(FailureType.VendorUnavailable, 'the refresh answer carried no access token');
  }
  await saveTokens(secrets, connectionId, tokens.accessToken, tokens.refreshToken);
  return tokenInfo(obtainedAt, tokens);
}

/** The first thing done with a vendor's answer, retried in place: a rotated refresh token exists nowhere else. */
async function saveTokens(
  secrets: SecretStore,
  connectionId: string,
  accessToken: string,
  refreshToken: string | null,
) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await secrets.saveTokens(connectionId, { accessToken, refreshToken });
    } catch (err) {
      if (attempt >= SAVE_ATTEMPTS) throw err;
      await sleep(SAVE_RETRY_MS * attempt);
    }
  }
}

async function clientCredentials(secrets: SecretStore, connectionId: string): Promise<ClientCredentials> {
  const credentials = await secrets.readCredentials(connectionId);
  if (!credentials?.clientId || !credentials.clientSecret) {
    throw new VendorError(FailureType.InvalidCredentials, 'no stored client id and secret');
  }
  return { clientId: credentials.clientId, clientSecret: credentials.clientSecret };
}

function tokenInfo(obtainedAt: number, tokens: InstalledTokens): TokenInfo {
  return {
    obtainedAt,
    expiresAt: tokens.expiresInSeconds === null ? null : obtainedAt + tokens.expiresInSeconds * 1000,
    // No token means nothing was granted.
    grantedScopes: tokens.accessToken === null ? [] : tokens.grantedScopes,
    credentialExpiresAt: null,
  };
}
