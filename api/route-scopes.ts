// Which API key scope each /v1 route needs, in one table. Every /v1 route must match a rule: one that
// matches none fails the app at start-up (see requireApiKey), so a new route is never reachable by accident.
import type { ApiKeyScope } from '../domain/api-key-scopes';

/** A scope; `admin`: admin keys only (no tenant key can be given it); null: any valid key. */
export type RouteAccess = ApiKeyScope | 'admin' | null;

interface Rule {
  /** The route pattern as registered, e.g. /v1/connections/:id/access-token. */
  url: RegExp;
  /** What reads (GET, HEAD) and everything else need. */
  read: RouteAccess;
  write: RouteAccess;
}

const either = (access: RouteAccess) => ({ read: access, write: access });

// First match wins: the specific connection routes come before the general ones.
const RULES: Rule[] = [
  { url: /^\/v1\/connectors(\/|$)/, ...either(null) },
  { url: /^\/v1\/connections\/:id\/access-token$/, ...either('connections:token') },
  { url: /^\/v1\/connections\/:id\/proxy\/\*$/, ...either('connections:proxy') },
  // Jobs act at the vendor: starting or cancelling one is asked for by name; reading them is reading connections.
  { url: /^\/v1\/connections\/:id\/jobs$/, read: 'connections:read', write: 'provisioning:write' },
  { url: /^\/v1\/jobs(\/|$)/, read: 'connections:read', write: 'provisioning:write' },
  // A lifecycle event starts jobs on the tenant's connections.
  { url: /^\/v1\/lifecycle-events(\/|$)/, read: 'connections:read', write: 'provisioning:write' },
  { url: /^\/v1\/connections(\/|$)/, read: 'connections:read', write: 'connections:write' },
  // Connect sessions link connections on the customer's behalf; the return URL allowlist is theirs.
  {
    url: /^\/v1\/connect-(sessions|return-urls)(\/|$)/,
    read: 'connections:read',
    write: 'connections:write',
  },
  { url: /^\/v1\/webhooks(\/|$)/, read: 'webhooks:read', write: 'webhooks:write' },
  // Keys manage access itself: operators only.
  { url: /^\/v1\/api-keys(\/|$)/, ...either('admin') },
];

/** What a route needs (null: any key), or undefined when no rule covers it. */
export function requiredScope(method: string, url: string): RouteAccess | undefined {
  const rule = RULES.find((r) => r.url.test(url));
  if (!rule) return undefined;
  return method === 'GET' || method === 'HEAD' ? rule.read : rule.write;
}
