// Instance URLs as people paste them: a browser address with a path, a query or a fragment, a trailing slash,
// an upper-case host, no https:// at all. Each vendor's hook (`hooks.normaliseInstanceUrl`) turns such input
// into the base its API lives at, or says what to enter instead; the URL policy then decides whether tether
// may call that base at all.
import type { VendorDefinition } from './definition';
import { checkInstanceUrl, type UrlPolicy } from './url-policy';

/** A vendor's rule: the instance's base URL from a parsed paste, or what is wrong with it. */
export type InstanceUrlNormaliser = (url: URL) => string | { error: string };

const HAS_SCHEME = /^[a-z][a-z\d+.-]*:\/\//i;
/** As the API's schemas bound it; checked here too, before anything parses the text. */
const MAX_INSTANCE_URL_LENGTH = 2048;

/** The shared default: the address without query, fragment and trailing slashes. */
export const keepPath: InstanceUrlNormaliser = (url) => `${url.origin}${segmentsPath(segments(url))}`;

/** For vendors whose hosted instances serve their API at the root: a pasted browser path is dropped. */
export const originOnly: InstanceUrlNormaliser = (url) => url.origin;

/** Whether the host is one of `domains` or a subdomain of one. */
export function hostIsUnder(url: URL, domains: readonly string[]): boolean {
  return domains.some((domain) => url.hostname === domain || url.hostname.endsWith(`.${domain}`));
}

/**
 * The address up to the first path segment that starts the vendor's API (e.g. `api`, `auth`), so a pasted
 * API or token URL comes back to the instance it belongs to; a path before it (a self-hosted instance under
 * a folder) is kept.
 */
export function pathBefore(url: URL, apiSegments: readonly string[]): string {
  const parts = segments(url);
  const cut = parts.findIndex((part) => apiSegments.includes(part.toLowerCase()));
  return `${url.origin}${segmentsPath(cut === -1 ? parts : parts.slice(0, cut))}`;
}

/** The non-empty segments of the URL's path, as they were written (still percent-encoded). */
export function segments(url: URL): string[] {
  return url.pathname.split('/').filter(Boolean);
}

export const segmentsPath = (parts: readonly string[]) => parts.map((part) => `/${part}`).join('');

/**
 * The stored form of an instance URL for this vendor, or what to enter instead: parsed (https:// added when
 * no scheme was given), refused when it carries a user name or password, reduced by the vendor's hook (or
 * the default: no query, fragment or trailing slash), then checked against the outbound URL policy.
 */
export function normaliseInstanceUrl(
  vendor: VendorDefinition,
  raw: string,
  policy: UrlPolicy,
): { url: string } | { error: string } {
  const example = vendor.instanceUrl.example;
  if (raw.length > MAX_INSTANCE_URL_LENGTH) {
    return { error: `must be at most ${MAX_INSTANCE_URL_LENGTH} characters, such as ${example}` };
  }
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(HAS_SCHEME.test(text) ? text : `https://${text}`);
  } catch {
    return { error: `must be a URL such as ${example}` };
  }
  if (url.username || url.password) {
    return {
      error: `must not contain a user name or password: enter the address only (e.g. ${example}); secrets go in body.credentials`,
    };
  }
  const normalised = (vendor.hooks?.normaliseInstanceUrl ?? keepPath)(url);
  if (typeof normalised !== 'string') return normalised;
  return checkInstanceUrl(normalised, policy);
}
