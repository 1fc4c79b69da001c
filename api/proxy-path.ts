// The vendor URL a proxied call goes to: the connection's API base plus the caller's path, relative only.
// The path is judged as it came on the wire (still percent-encoded), before anything decodes or normalises
// it, so nothing can climb out of the base: no `..` or `.` segments, no empty segments (`//`, which could
// start a host), no backslashes (URL parsers read them as slashes), and no encoded dot, slash, backslash or
// percent sign (`%2e%2e`, `%2f`, `%5c`, `%252e`), which a vendor or a parser on the way might decode.

import { trimTrailingSlashes } from '../vendor-kit/url-policy';

const PERCENT = /%(?![0-9A-Fa-f]{2})|%([0-9A-Fa-f]{2})/g;
/** Bytes that must not arrive encoded: `.`, `/`, `\`, `%`, and controls. */
const FORBIDDEN_ENCODED = (byte: number) =>
  byte === 0x2e || byte === 0x2f || byte === 0x5c || byte === 0x25 || byte < 0x20 || byte === 0x7f;

export function proxiedUrl(
  base: string,
  rawPath: string,
  rawQuery: string,
): { url: string } | { error: string } {
  if (rawPath === '') return { error: 'name the vendor path after /proxy/, e.g. /proxy/api/v1/users' };
  if (rawPath.includes('\\')) return { error: 'backslashes are not allowed' };
  const segments = rawPath.split('/');
  if (segments.some((s) => s === '')) return { error: 'empty path segments (//) are not allowed' };
  if (segments.some((s) => s === '.' || s === '..'))
    return { error: 'dot segments (. and ..) are not allowed' };
  for (const [match, hex] of rawPath.matchAll(PERCENT)) {
    if (hex === undefined) return { error: `malformed percent-encoding at "${match}"` };
    if (FORBIDDEN_ENCODED(parseInt(hex, 16))) {
      return {
        error: `encoded ${match} is not allowed (no encoded dot, slash, backslash, percent or control)`,
      };
    }
  }
  const root = trimTrailingSlashes(base);
  const candidate = `${root}/${rawPath}${rawQuery === '' ? '' : `?${rawQuery}`}`;
  let url: URL;
  let baseUrl: URL;
  try {
    url = new URL(candidate);
    baseUrl = new URL(root);
  } catch {
    return { error: 'the path does not make a valid URL' };
  }
  // Belt and braces: whatever the parser made of it must still be under the base.
  const basePath = trimTrailingSlashes(baseUrl.pathname);
  if (url.origin !== baseUrl.origin || !url.pathname.startsWith(`${basePath}/`)) {
    return { error: 'the path leaves the vendor API base' };
  }
  return { url: url.toString() };
}
