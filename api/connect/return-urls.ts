// Where a connect session may send the end user back: only to URLs the tenant listed beforehand, so a
// session can never be turned into an open redirect or a postMessage to a stranger's page.
import { trimTrailingSlashes, type UrlPolicy } from '../../vendor-kit/url-policy';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A return URL as given, or why it is refused: absolute https (plain http only to loopback, where the
 * deployment allows insecure loopback), no credentials, no fragment; allowlist entries have no query either.
 */
export function checkReturnUrl(
  raw: string,
  policy: UrlPolicy,
  kind: 'entry' | 'session',
): { url: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: 'must be an absolute URL such as https://app.example.com/connected' };
  }
  const insecureLoopback =
    url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname) && policy.allowInsecureLoopback;
  if (url.protocol !== 'https:' && !insecureLoopback) return { error: 'must use https' };
  if (url.username || url.password) return { error: 'must not contain credentials' };
  if (url.hash) return { error: 'must not contain a fragment' };
  if (kind === 'entry' && url.search) return { error: 'must not contain a query' };
  return { url: kind === 'entry' ? trimTrailingSlashes(url.toString()) : url.toString() };
}

/** Same origin as an entry, and its path at or below the entry's path (segment by segment). */
export function isAllowedReturnUrl(returnUrl: string, entries: readonly string[]): boolean {
  const target = new URL(returnUrl);
  return entries.some((entry) => {
    const allowed = new URL(entry);
    if (allowed.origin !== target.origin) return false;
    const prefix = trimTrailingSlashes(allowed.pathname);
    return prefix === '' || target.pathname === prefix || target.pathname.startsWith(`${prefix}/`);
  });
}

/** The return URL with what happened added to its query (its own parameters are kept). */
export function returnUrlWith(returnUrl: string, result: Record<string, string | null>): string {
  const url = new URL(returnUrl);
  for (const [key, value] of Object.entries(result)) if (value !== null) url.searchParams.set(key, value);
  return url.toString();
}
