// Installs: the token endpoint of OAuth2 authorization code (RFC 6749 §4.1) and refresh (§6) for vendors
// linked through their consent page. The catalog entry's hooks call these; activities/oauth-install.ts
// stores what they return.
import { FailureType } from '../domain/failures';
import type { InstalledTokens, VendorContext, VendorDefinition } from './definition';
import { VendorError } from './vendor-error';
import { answerString } from './answer-fields';
import {
  bodyError,
  errorDetail,
  parseJson,
  safeJson,
  throwIfUnavailable,
  tokenRefusal,
} from './vendor-responses';

/** POST a form to a token endpoint: its JSON answer, or the refusal classified (errors in 200 answers too). */
export async function postTokenForm(
  vendor: VendorDefinition,
  ctx: VendorContext,
  url: string,
  form: Record<string, string>,
): Promise<Record<string, unknown>> {
  const host = new URL(url).host;
  const res = await ctx.http.send({ method: 'POST', url, form });
  throwIfUnavailable(res, host, vendor);
  const body = res.status >= 400 ? safeJson(res.text) : parseJson(res, 'the token request', host);
  const error = bodyError(vendor, body);
  if (res.status >= 400 || error) throw tokenRefusal(res.status, error, host, errorDetail(vendor, res));
  if (!isRecord(body)) {
    throw new VendorError(
      FailureType.VendorUnavailable,
      `${host} answered the token request without a JSON object`,
    );
  }
  return body;
}

/**
 * The standard token fields (RFC 6749 §5.1) of `host`'s answer, or of the part of it where the vendor puts
 * them; a field longer than its kind allows fails the answer.
 */
export function tokensFrom(fields: unknown, host: string): InstalledTokens {
  const f = isRecord(fields) ? fields : {};
  const expiresIn = Number(f.expires_in);
  const scope = answerString(f.scope, 'scopes', 'scope', host) || null;
  return {
    accessToken: answerString(f.access_token, 'token', 'access_token', host) || null,
    refreshToken: answerString(f.refresh_token, 'token', 'refresh_token', host) || null,
    expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : null,
    grantedScopes: scope === null ? null : scope.split(/[\s,]+/).filter(Boolean),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
