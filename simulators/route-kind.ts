/**
 * What an endpoint is, for counters and fault scopes:
 * 'token' issues tokens; 'auth' is the rest of the authorization server (discovery, authorize, revoke);
 * 'api' is the resource server. Fault scope 'token' covers both 'token' and 'auth'.
 */
export type RouteKind = 'token' | 'auth' | 'api';
