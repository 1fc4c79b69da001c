// Reading vendor answers: what is an error, which kind, and how long the vendor asked us to wait.
import type { VendorDefinition } from '../catalog';
import { parseRetryAfter, VendorError } from '../lib/vendor-error';
import type { VendorResponse } from '../lib/vendor-http';
import { FailureType } from '../workflows/types';

const CREDENTIAL_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant', 'access_denied']);

export function parseJson(res: VendorResponse, what: string, host: string): unknown {
  try {
    return JSON.parse(res.text);
  } catch {
    throw new VendorError(
      FailureType.VendorUnavailable,
      `${host} answered ${what} with malformed JSON (HTTP ${res.status})`,
      undefined,
      res.status,
    );
  }
}

/** Throw for 429 and 5xx: the same for every endpoint of every vendor. */
export function throwIfUnavailable(res: VendorResponse, host: string): void {
  if (res.status === 429) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    throw new VendorError(
      FailureType.RateLimited,
      `${host} rate-limited the request (429${retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(retryAfterMs / 1000)} s`})`,
      retryAfterMs,
      429,
    );
  }
  if (res.status >= 500) {
    throw new VendorError(FailureType.VendorUnavailable, `${host} answered HTTP ${res.status}`, undefined, res.status);
  }
}

/** The OAuth error in an answer: the standard {error} body, or the vendor's own shape. */
export function bodyError(vendor: VendorDefinition, body: unknown): { code: string; message: string } | null {
  const custom = vendor.hooks?.errorInBody?.(body);
  if (custom) return custom;
  if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
    const b = body as { error: string; error_description?: unknown };
    return { code: b.error, message: typeof b.error_description === 'string' ? b.error_description : b.error };
  }
  return null;
}

/** Classify a token endpoint's refusal (any 4xx, or a 2xx whose body carries an error). */
export function tokenRefusal(status: number, error: { code: string; message: string } | null, host: string): VendorError {
  const code = error?.code ?? `HTTP ${status}`;
  const message = `${host} refused the token request: ${truncate(error ? `${error.code}: ${error.message}` : code)}`;
  if (error && CREDENTIAL_ERRORS.has(error.code)) return new VendorError(FailureType.InvalidCredentials, message);
  if (error?.code === 'invalid_scope') return new VendorError(FailureType.InvalidConfiguration, message);
  if (status === 401 || status === 403) return new VendorError(FailureType.InvalidCredentials, message);
  return new VendorError(FailureType.InvalidConfiguration, message);
}

export function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
