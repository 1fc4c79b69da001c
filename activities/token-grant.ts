// OAuth2 client credentials grant (RFC 6749 §4.4) driven by a vendor's catalog entry. Hand-written
// rather than a generic OAuth client because the vendors' quirks dominate: errors in 200 answers,
// Retry-After, granted scopes in a JWT claim.
import { decodeJwt } from 'jose';
import type { VendorDefinition } from '../catalog';
import type { ClientCredentials, OAuthClientCredentialsAuth, VendorContext } from '../catalog/types';
import { VendorError } from '../lib/vendor-error';
import { FailureType } from '../workflows/types';
import { bodyError, parseJson, throwIfUnavailable, tokenRefusal } from './vendor-responses';

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
): Promise<GrantedToken> {
  const url = await auth.tokenUrl(ctx);
  const host = new URL(url).host;
  // Always request scopes explicitly: several vendors grant none (and every call fails) otherwise.
  const scopes = auth.requestedScopes?.(ctx) ?? vendor.scopes.map((s) => s.scope);
  const form: Record<string, string> = { grant_type: 'client_credentials', scope: scopes.join(' ') };
  const headers: Record<string, string> = {};
  if (auth.clientAuth === 'client_secret_basic') {
    const pair = `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  } else {
    form.client_id = credentials.clientId;
    form.client_secret = credentials.clientSecret;
  }

  const res = await ctx.http.send({ method: 'POST', url, form, headers });
  throwIfUnavailable(res, host);
  const body = res.status >= 400 ? safeJson(res.text) : parseJson(res, 'the token request', host);
  const error = bodyError(vendor, body);
  if (res.status >= 400 || error) throw tokenRefusal(res.status, error, host);

  const answer = body as { access_token?: unknown; expires_in?: unknown; scope?: unknown };
  if (typeof answer.access_token !== 'string' || answer.access_token.length === 0) {
    throw new VendorError(FailureType.VendorUnavailable, `${host} answered the token request without access_token`);
  }
  const expiresIn = Number(answer.expires_in);
  return {
    accessToken: answer.access_token,
    expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : auth.defaultExpiresInSeconds,
    grantedScopes: grantedScopes(auth, answer.access_token, answer.scope),
  };
}

function grantedScopes(auth: OAuthClientCredentialsAuth, accessToken: string, scopeField: unknown): string[] | null {
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

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
