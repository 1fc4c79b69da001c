// Reading vendor answers: what is an error, which kind, and how long the vendor asked us to wait.
import type { VendorDefinition } from './definition';
import type { BodyError } from './definition';
import { parseRetryAfter, VendorError } from './vendor-error';
import type { VendorResponse } from './vendor-http';
import { FailureType } from '../domain/failures';
import { MAX_ANSWER_DEPTH, nestsDeeperThan } from './answer-fields';

/** What reading an answer needs of a vendor: the hooks that find errors and words in its bodies. */
export type ErrorHooks = { hooks?: Pick<NonNullable<VendorDefinition['hooks']>, 'errorInBody' | 'errorMessage'> };

const CREDENTIAL_ERRORS = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_grant',
  'access_denied',
]);

/** What a configuration fault asks the customer to check. */
export const CHECK_INSTANCE_URL = 'check the instance URL';

/**
 * The JSON an answer carries. An HTML page where JSON was expected (a website, a sign-in page) says the URL
 * points at the wrong place: a configuration fault, not an outage. Other unparseable bodies are outages.
 */
export function parseJson(res: VendorResponse, what: string, host: string): unknown {
  if (nestsDeeperThan(res.text)) {
    throw new VendorError(
      FailureType.VendorUnavailable,
      `${host} answered ${what} with JSON nested deeper than ${MAX_ANSWER_DEPTH} levels (HTTP ${res.status})`,
      undefined,
      res.status,
    );
  }
  try {
    return JSON.parse(res.text);
  } catch {
    if (isHtmlPage(res)) {
      throw new VendorError(
        FailureType.InvalidConfiguration,
        `${host} answered ${what} with an HTML page (HTTP ${res.status}), not the vendor's API: the URL most likely points at a website or sign-in page; ${CHECK_INSTANCE_URL}`,
        undefined,
        res.status,
      );
    }
    throw new VendorError(
      FailureType.VendorUnavailable,
      `${host} answered ${what} with malformed JSON (HTTP ${res.status})`,
      undefined,
      res.status,
    );
  }
}

/** Throw for 429 and 5xx: the same for every endpoint of every vendor. */
export function throwIfUnavailable(res: VendorResponse, host: string, vendor: ErrorHooks): void {
  if (res.status === 429) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    const wait = retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(retryAfterMs / 1000)} s`;
    throw new VendorError(
      FailureType.RateLimited,
      `${host} rate-limited the request (429${wait})${detailOf(vendor, res)}`,
      retryAfterMs,
      429,
    );
  }
  if (res.status >= 500) {
    throw new VendorError(
      FailureType.VendorUnavailable,
      `${host} answered HTTP ${res.status}${detailOf(vendor, res)}`,
      undefined,
      res.status,
    );
  }
}

/** The vendor's own words in an error answer of any shape (the vendor's hook, else OAuth's), or null. */
export function errorDetail(vendor: ErrorHooks, res: VendorResponse): string | null {
  const body = safeJson(res.text);
  const custom = vendor.hooks?.errorMessage?.(body);
  if (custom) return truncate(custom);
  const oauth = bodyError(vendor, body);
  if (!oauth) return null;
  return truncate(oauth.message === oauth.code ? oauth.code : `${oauth.code}: ${oauth.message}`);
}

/** ": <detail>" to append to a message, or nothing. */
export function detailOf(vendor: ErrorHooks, res: VendorResponse): string {
  const detail = errorDetail(vendor, res);
  return detail ? `: ${detail}` : '';
}

/** An HTML document: by its content type, or by how it starts. */
export function isHtmlPage(res: VendorResponse): boolean {
  const header = res.headers['content-type'];
  const type = (Array.isArray(header) ? header[0] : header)?.toLowerCase() ?? '';
  if (type.includes('text/html') || type.includes('application/xhtml')) return true;
  const start = res.text.slice(0, 256).trimStart().slice(0, 14).toLowerCase();
  return start.startsWith('<!doctype html') || start.startsWith('<html');
}

/** The parsed body, or null when it is not JSON (error pages often are not) or nests too deep to read. */
export function safeJson(text: string): unknown {
  if (nestsDeeperThan(text)) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The OAuth error in an answer: the standard {error} body, or the vendor's own shape. */
export function bodyError(vendor: ErrorHooks, body: unknown): BodyError | null {
  const custom = vendor.hooks?.errorInBody?.(body);
  if (custom) return custom;
  if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
    const b = body as { error: string; error_description?: unknown };
    return {
      code: b.error,
      message: typeof b.error_description === 'string' ? b.error_description : b.error,
    };
  }
  return null;
}

/**
 * Classify a token endpoint's refusal (any 4xx, or a 2xx whose body carries an error). `detail` is the
 * vendor's own message when the answer is not an OAuth error.
 */
export function tokenRefusal(
  status: number,
  error: BodyError | null,
  host: string,
  detail: string | null,
): VendorError {
  const code = error?.code ?? `HTTP ${status}`;
  const what = error ? `${error.code}: ${error.message}` : detail ? `${code}: ${detail}` : code;
  const message = `${host} refused the token request: ${truncate(what)}`;
  const classified = error && classifiedBodyError(error, message, FailureType.InvalidCredentials);
  if (classified) return classified;
  if (error && CREDENTIAL_ERRORS.has(error.code))
    return new VendorError(FailureType.InvalidCredentials, message);
  if (error?.code === 'invalid_scope') {
    return new VendorError(FailureType.InvalidConfiguration, `${message}: check the scopes requested`);
  }
  // Only the vendor's explicit refusal of the client counts against the credentials; anything else
  // (a 404, a 400 without a credential error) says the request went to the wrong place or was malformed.
  if (status === 401 || status === 403) return new VendorError(FailureType.InvalidCredentials, message);
  if (status === 404) {
    return new VendorError(
      FailureType.InvalidConfiguration,
      `${host} has no token endpoint there (HTTP 404): ${CHECK_INSTANCE_URL}`,
      undefined,
      404,
    );
  }
  return new VendorError(
    FailureType.InvalidConfiguration,
    `${message}: ${CHECK_INSTANCE_URL} and settings`,
    undefined,
    status,
  );
}

/**
 * The failure an error the vendor's hook classified stands for (`refused`: what a refused credential means
 * where it was found), or null for a missing permission or an unclassified error: the caller decides.
 */
export function classifiedBodyError(
  error: BodyError,
  message: string,
  refused: FailureType,
  res?: VendorResponse,
): VendorError | null {
  switch (error.kind) {
    case 'credentials':
      return new VendorError(refused, message);
    case 'rate_limited':
      return new VendorError(
        FailureType.RateLimited,
        message,
        res && parseRetryAfter(res.headers['retry-after']),
        res?.status,
      );
    case 'unavailable':
      return new VendorError(FailureType.VendorUnavailable, message);
    case 'configuration':
      return new VendorError(FailureType.InvalidConfiguration, message);
    default:
      return null;
  }
}

export function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
