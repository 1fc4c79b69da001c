// What a vendor is, as data: how to authenticate, which permissions the product needs and why,
// how to prove them, and how to revoke. Small hooks cover quirks. The generic engine that reads
// these definitions lives in activities/; adding a vendor is one file here plus its simulator.
import type { z } from 'zod';
import type { VendorHttp } from '../lib/vendor-http';

export interface ScopeRequirement {
  scope: string;
  /** Shown to the customer when the scope is missing: what breaks without it. */
  purpose: string;
}

export interface Probe {
  id: string;
  method: 'GET' | 'POST';
  /** Relative to the API base (the instance URL unless the vendor's apiBaseUrl hook says otherwise). */
  path: string;
  /** Scopes a 2xx answer proves granted and a 403 proves missing. */
  proves: string[];
  /** The cheap call used for periodic health checks of tokens that never expire. */
  health?: boolean;
}

export interface VendorContext {
  /** Normalised instance URL, without trailing slash. */
  instanceUrl: string;
  settings: Record<string, unknown>;
  http: VendorHttp;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface OAuthClientCredentialsAuth {
  kind: 'oauth2_client_credentials';
  tokenUrl(ctx: VendorContext): string | Promise<string>;
  /** How the client authenticates at the token endpoint (RFC 6749 §2.3.1). */
  clientAuth: 'client_secret_post' | 'client_secret_basic';
  /** Scopes to request; default: every required scope. Always explicit: see vendors.md. */
  requestedScopes?(ctx: VendorContext): string[];
  /** Where the vendor says what it granted. */
  grantedScopesFrom: { jwtClaim: string } | 'scope_field';
  /** Lifetime to assume when the answer has no expires_in. */
  defaultExpiresInSeconds: number;
}

export interface StaticBearerAuth {
  kind: 'static_bearer';
  /** The customer's token stops working this long after issue (Promapp: one year); none if unset. */
  lifetimeDays?: number;
}

export type AuthSpec = OAuthClientCredentialsAuth | StaticBearerAuth;

export type RevokeSpec =
  | { supported: false; instructions: string }
  | {
      supported: true;
      revoke(ctx: VendorContext, credentials: Record<string, string>, accessToken: string | null): Promise<void>;
    };

export interface VendorDefinition {
  id: string;
  name: string;
  description: string;
  docsUrl?: string;
  auth: AuthSpec;
  instanceUrl: {
    label: string;
    example: string;
    /** Used when the customer gives none (e.g. Promapp's fixed SCIM base). */
    default?: string;
    help: string;
  };
  /** Secret fields the customer pastes. Encrypted at rest, never echoed. */
  credentials: z.ZodObject;
  /** Non-secret options chosen at link time. */
  settings: z.ZodObject;
  scopes: ScopeRequirement[];
  probes: Probe[];
  revoke: RevokeSpec;
  /** What the customer clicks and pastes, in order. */
  setupSteps: string[];
  hooks?: {
    /** A 2xx answer that is really an error (InvGate answers 200 with {error}). */
    errorInBody?(body: unknown): { code: string; message: string } | null;
    /** Base URL for API calls and probes, if not the instance URL. */
    apiBaseUrl?(ctx: VendorContext): string;
  };
}
