// OAuth2 client credentials grant (RFC 6749 §4.4) and token revocation (RFC 7009) driven by a vendor's
// catalog entry. Hand-written rather than a generic OAuth client because the vendors' quirks dominate:
// errors in 200 answers, Retry-After, granted scopes in a JWT claim, endpoints found by discovery.
import { decodeJwt } from 'jose';
import type { VendorDefinition } from './definition';
import type { ClientCredentials, OAuthClientCredentialsAuth, VendorContext } from './definition';
import { VendorError } from './vendor-error';
import { FailureType } from '../domain/failures';
import { requestedScopes } from './scope-verification';
import { answerString } from './answer-fields';
import {
  bodyError,
  detailOf,
  errorDetail,
  parseJson,
  safeJson,
  throwIfUnavailable,
  tokenRefusal,
} from './vendor-responses';

export interface GrantedToken {
  accessToken: string;
  expiresInSeconds: number;
  grantedScopes: string[] | null;
}

export async function grantClientCredentials(
  vendor: VendorDefinition,
  auth: OAuthClientCredentialsAuth,
  ctx: VendorContext,
  credentials: ClientCredentials,
  // Always request scopes explicitly: several vendors grant none (and every call fails) otherwise.
  scopes: string[] = auth.requestedScopes?.(ctx) ?? requestedScopes(vendor, ctx).map((s) => s.scope),
): Promise<GrantedToken> {
  const url = await auth.tokenUrl(ctx);
  const host = new URL(url).host;
  if (scopes.length === 0) {
    throw new VendorError(FailureType.InvalidConfiguration, `no scope to request from ${host}`);
  }
  const client = clientAuthentication(auth, ctx, credentials);
  const res = await ctx.http.send({
    method: 'POST',
    url,
    form: { grant_type: 'client_credentials', scope: scopes.join(' '), ...client.form },
    headers: client.headers,
  });
  throwIfUnavailable(res, host, vendor);
  const body = res.status >= 400 ? safeJson(res.text) : parseJson(res, 'the token request', host);
  const error = bodyError(vendor, body);
  if (res.status >= 400 || error) {
    const refused = error?.code === 'invalid_scope' ? scopesNamed(error.message, scopes) : [];
    const refusal = tokenRefusal(res.status, error, host, errorDetail(vendor, res));
    if (refused.length === 0) throw refusal;
    const optional = new Set(vendor.scopes.filter((s) => s.optional).map((s) => s.scope));
    // Optional scopes never block: ask again without them (they show as missing optional scopes).
    if (refused.every((scope) => optional.has(scope))) {
      const rest = scopes.filter((scope) => !refused.includes(scope));
      if (rest.length > 0) return grantClientCredentials(vendor, auth, ctx, credentials, rest);
    }
    const missingScopes = vendor.scopes
      .filter((s) => refused.includes(s.scope) && !optional.has(s.scope))
      .map(({ scope, purpose }) => ({ scope, purpose }));
    throw new VendorError(FailureType.ScopesRefused, refusal.message, undefined, res.status, missingScopes);
  }

  const answer = body as { access_token?: unknown; expires_in?: unknown; scope?: unknown };
  const accessToken = answerString(answer.access_token, 'token', 'access_token', host);
  if (!accessToken) {
    throw new VendorError(
      FailureType.VendorUnavailable,
      `${host} answered the token request without access_token`,
    );
  }
  const expiresIn = Number(answer.expires_in);
  return {
    accessToken,
    expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : auth.defaultExpiresInSeconds,
    grantedScopes: grantedScopes(auth, accessToken, answerString(answer.scope, 'scopes', 'scope', host)),
  };
}

function grantedScopes(
  auth: OAuthClientCredentialsAuth,
  accessToken: string,
  scopeField: unknown,
): string[] | null {
  if (auth.grantedScopesFrom === 'scope_field') {
    return typeof scopeField === 'string' ? splitScopes(scopeField) : null;
  }
  let claim: unknown;
  try {
    // Decoding only: the vendor, not us, is the token's audience and verifies it.
    claim = decodeJwt(accessToken)[auth.grantedScopesFrom.jwtClaim];
  } catch {
    return null;
  }
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === 'string');
  return typeof claim === 'string' ? splitScopes(claim) : null;
}

function splitScopes(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

/**
 * The requested scopes an `invalid_scope` answer names (NinjaOne: "Invalid scope: control"), read word by
 * word (no pattern runs over the vendor's text), quotes and punctuation around a word ignored.
 */
export function scopesNamed(description: string, requested: string[]): string[] {
  const words = new Set(
    description
      .slice(0, 1_000)
      .split(/[\s,;]/)
      .map((word) => trimPunctuation(word)),
  );
  return requested.filter((scope) => words.has(scope));
}

const PUNCTUATION = new Set(['"', "'", '`', '.', ':', '(', ')', '[', ']']);

function trimPunctuation(word: string): string {
  let start = 0;
  let end = word.length;
  while (start < end && PUNCTUATION.has(word[start]!)) start++;
  while (end > start && PUNCTUATION.has(word[end - 1]!)) end--;
  return word.slice(start, end);
}

/** Client authentication (RFC 6749 §2.3.1) as the vendor, or this connection's settings, choose. */
export function clientAuthentication(
  auth: OAuthClientCredentialsAuth,
  ctx: VendorContext,
  credentials: ClientCredentials,
): { form: Record<string, string>; headers: Record<string, string> } {
  const method = typeof auth.clientAuth === 'function' ? auth.clientAuth(ctx) : auth.clientAuth;
  if (method === 'client_secret_post') {
    return {
      form: { client_id: credentials.clientId, client_secret: credentials.clientSecret },
      headers: {},
    };
  }
  const pair = `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`;
  return { form: {}, headers: { authorization: `Basic ${Buffer.from(pair).toString('base64')}` } };
}

/**
 * Revoke an access token (RFC 7009), authenticating the client as for the grant. The endpoint answers 200
 * for tokens it does not know, so success says the token is dead, not that it was alive.
 */
export async function revokeAccessToken(
  vendor: VendorDefinition,
  auth: OAuthClientCredentialsAuth,
  ctx: VendorContext,
  url: string,
  credentials: ClientCredentials,
  accessToken: string | null,
): Promise<void> {
  // Never granted, so nothing to revoke.
  if (accessToken === null) return;
  const host = new URL(url).host;
  const client = clientAuthentication(auth, ctx, credentials);
  const res = await ctx.http.send({
    method: 'POST',
    url,
    form: { token: accessToken, token_type_hint: 'access_token', ...client.form },
    headers: client.headers,
  });
  throwIfUnavailable(res, host, vendor);
  if (res.status >= 200 && res.status < 300) return;
  const type =
    res.status === 401 || res.status === 403
      ? FailureType.InvalidCredentials
      : FailureType.InvalidConfiguration;
  const message = `${host} refused the revocation (HTTP ${res.status})${detailOf(vendor, res)}`;
  throw new VendorError(type, message, undefined, res.status);
}
