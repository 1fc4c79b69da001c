// Which headers cross the proxy. Towards the vendor: the caller's own, minus its credentials (tether
// injects the connection's), cookies, hop-by-hop headers (RFC 9110 §7.6.1, and any the Connection header
// names), what the load balancer in front of tether added about the caller, and tether's own. Back to the
// caller: the vendor's, minus hop-by-hop headers, cookies and headers that would set policy for tether's
// own origin (HSTS, CORS).
import type { IncomingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const NOT_TO_VENDOR = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
  'expect',
  'forwarded',
  'x-real-ip',
  'x-tenant-id',
]);

const NOT_TO_CALLER = new Set(['set-cookie', 'set-cookie2', 'strict-transport-security']);

/** Marks every answer that is the vendor's, passed through (status, body, content type). */
export const PROXIED_HEADER = 'tether-proxied';
/** Names a vendor's other API base (apiBaseUrls), e.g. `scim` on Slack. */
export const API_BASE_HEADER = 'tether-api-base';

export function headersToVendor(incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || NOT_TO_VENDOR.has(name) || named.has(name)) continue;
    if (name.startsWith('x-forwarded-') || name.startsWith('tether-')) continue;
    out[name] = value;
  }
  return out;
}

export function headersToCaller(
  vendor: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const named = connectionTokens(vendor.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(vendor)) {
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || NOT_TO_CALLER.has(name) || named.has(name)) continue;
    if (name.startsWith('access-control-') || name.startsWith('tether-')) continue;
    out[name] = value;
  }
  return out;
}

function connectionTokens(value: string | string[] | undefined): Set<string> {
  return new Set(
    [value ?? []]
      .flat()
      .flatMap((v) => v.split(','))
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}
