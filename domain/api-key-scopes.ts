// What an API key may do. A tenant key holds a set of these; an admin key holds them all, across tenants.
export const API_KEY_SCOPES = [
  'connections:read',
  'connections:write',
  /** Hand the vendor's token out (POST /v1/connections/{id}/access-token). */
  'connections:token',
  /** Call the vendor through tether, which injects the token (the caller never holds it). */
  'connections:proxy',
  /** Start and cancel provisioning jobs (create, change, deactivate users at the vendor). */
  'provisioning:write',
  'webhooks:read',
  'webhooks:write',
] as const;

export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * A key created without naming scopes, and every key that existed before scopes did: what a key could do
 * then. Getting a vendor's token or calling the vendor is asked for by name.
 */
export const DEFAULT_API_KEY_SCOPES: readonly ApiKeyScope[] = [
  'connections:read',
  'connections:write',
  'webhooks:read',
  'webhooks:write',
];

export function isApiKeyScope(value: string): value is ApiKeyScope {
  return (API_KEY_SCOPES as readonly string[]).includes(value);
}
