// Instance URLs are user input the worker calls with credentials: only https to public addresses,
// unless loopback (and plain http to it) is explicitly allowed (tests, simulators, the demo).
import ipaddr from 'ipaddr.js';

export interface UrlPolicy {
  allowInsecureLoopback: boolean;
}

/**
 * The one refusal of a host that is not public: this machine, a private address, or (at connect time) a
 * name that does not resolve or resolves to a private address. One wording, so refusals do not tell a
 * tenant which internal names exist.
 */
export const HOST_REFUSAL = 'must name a public host';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Normalise an instance URL or say why it is refused. */
export function checkInstanceUrl(raw: string, policy: UrlPolicy): { url: string } | { error: string } {
  return checkUrl(raw, policy, false);
}

/** The same rules for a URL the worker is about to call (which may carry a query). */
export function checkRequestUrl(raw: string, policy: UrlPolicy): { url: string } | { error: string } {
  return checkUrl(raw, policy, true);
}

function checkUrl(raw: string, policy: UrlPolicy, allowQuery: boolean): { url: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: 'must be an absolute URL such as https://acme.example.com' };
  }
  if (url.username || url.password) return { error: 'must not contain credentials' };
  if ((url.search && !allowQuery) || url.hash) return { error: 'must not contain a query or fragment' };
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol === 'http:' && loopback && policy.allowInsecureLoopback) {
    return { url: normalise(url, allowQuery) };
  }
  if (url.protocol !== 'https:') return { error: 'must use https' };
  if (loopback && !policy.allowInsecureLoopback) return { error: HOST_REFUSAL };
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(literal) && !isAllowedAddress(literal, policy)) return { error: HOST_REFUSAL };
  return { url: normalise(url, allowQuery) };
}

function normalise(url: URL, keepAsIs: boolean): string {
  return keepAsIs ? url.toString() : trimTrailingSlashes(url.toString());
}

/**
 * `text` without the slashes it ends with. A loop, not `/\/+$/`: that pattern retries its run of slashes
 * from every start position, quadratic on a long run followed by another character (seconds for a vendor's
 * 100 KiB answer field).
 */
export function trimTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === SLASH) end--;
  return end === text.length ? text : text.slice(0, end);
}

const SLASH = 0x2f;

/**
 * Public unicast addresses only: no private, link-local (cloud metadata), unique-local, CGNAT,
 * multicast or reserved ranges. Loopback only when explicitly allowed.
 */
export function isAllowedAddress(address: string, policy: UrlPolicy): boolean {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  if (range === 'loopback') return policy.allowInsecureLoopback;
  return range === 'unicast';
}
