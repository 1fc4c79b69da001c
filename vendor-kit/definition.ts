// What a vendor is, as data: how to authenticate, which permissions the product needs and why,
// how to prove them, and how to revoke. Small hooks cover quirks. The generic engine that reads
// these definitions lives in activities/; adding a vendor is one file here plus its simulator.
import type { LifecycleKind } from '../domain/lifecycle-events';
import type { z } from 'zod';
import type { OperationResult } from '../domain/jobs';
import type { RateLimitRule } from './rate-limits';
import type { VendorHttp } from './vendor-http';

export interface ScopeRequirement {
  scope: string;
  /** Shown to the customer when the scope is missing: what breaks without it. */
  purpose: string;
  /**
   * Asked for, but not required: when the vendor withholds it the connection stays usable and lists it (with
   * its purpose: the feature it disables). The customer may also leave it out in the connection's settings.
   */
  optional?: boolean;
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
  /**
   * A 401 here means the permission is missing, not that the token is dead, once an earlier probe of the
   * same check accepted the token (Halo answers 401 to calls a token has no scope for).
   */
  unauthorizedMeansDenied?: boolean;
  /** Base URL of this probe when it is not the API base (Slack's SCIM API lives on another host). */
  baseUrl?(ctx: VendorContext): string;
}

export interface VendorContext {
  /** Normalised instance URL, without trailing slash. */
  instanceUrl: string;
  settings: Record<string, unknown>;
  http: VendorHttp;
  /** This deployment's overrides of fixed vendor URLs (see VendorEndpoints); none in production. */
  endpoints?: VendorEndpoints;
}

/**
 * Vendor addresses the customer never enters, by name: Slack's hosts (`slack.api`), whose production value
 * the catalog entry holds and configuration overrides to point tests and the demo at the simulators; and
 * the hosts besides a Halo instance's own that may serve its token endpoint (`halo.authHosts`, comma-separated).
 */
export type VendorEndpoints = Readonly<Partial<Record<string, string>>>;

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** How the client authenticates at the token endpoint (RFC 6749 §2.3.1): form fields or HTTP Basic. */
export type ClientAuthMethod = 'client_secret_post' | 'client_secret_basic';

export interface OAuthClientCredentialsAuth {
  kind: 'oauth2_client_credentials';
  /** May discover the endpoint first (Halo's /api/authinfo) through ctx.http. */
  tokenUrl(ctx: VendorContext): string | Promise<string>;
  /** Fixed, or chosen per connection from its settings. Revocation authenticates the same way. */
  clientAuth: ClientAuthMethod | ((ctx: VendorContext) => ClientAuthMethod);
  /** Scopes to request; default: the scopes the connection asks for. Never empty: see catalog/README.md. */
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

/**
 * Where an install put the app, as the vendor's answer says. Slack: an Enterprise Grid organization
 * (`is_enterprise_install`, `enterprise`) or a workspace (`team`, with the `enterprise` it belongs to, if any).
 */
export interface InstallTarget {
  level: 'organization' | 'workspace';
  organization: { id: string; name: string | null } | null;
  workspace: { id: string; name: string | null } | null;
}

/** Tokens from an authorization code or a refresh (never leave the activity that received them). */
export interface InstalledTokens {
  /** null: the vendor granted none of the requested scopes and issued no token (Slack does so). */
  accessToken: string | null;
  /** The next refresh token when the vendor rotates them (single-use), else null. */
  refreshToken: string | null;
  /** null: the token does not expire. */
  expiresInSeconds: number | null;
  grantedScopes: string[] | null;
  /** Where the app was installed, when the vendor says (code exchanges). */
  installedOn?: InstallTarget | null;
}

/**
 * OAuth2 authorization code (RFC 6749 §4.1) through the vendor's consent page: the customer's OAuth app
 * (client id and secret are the connection's credentials) is installed by an admin of their account.
 */
export interface OAuthInstallAuth {
  kind: 'oauth2_install';
  /** The consent page to send the admin's browser to. */
  authorizeUrl(
    ctx: VendorContext,
    request: { clientId: string; redirectUri: string; state: string; scopes: string[] },
  ): string;
  /** Redeem the callback's code (single-use, short-lived). */
  exchangeCode(
    ctx: VendorContext,
    client: ClientCredentials,
    grant: { code: string; redirectUri: string },
  ): Promise<InstalledTokens>;
  /** Renew with the stored refresh token; the answer carries its successor when the vendor rotates them. */
  refreshToken(ctx: VendorContext, client: ClientCredentials, refreshToken: string): Promise<InstalledTokens>;
  /**
   * Why an install may not be taken (what to do instead), or null: where it landed, against where the
   * connection's earlier installs landed (null before the first). A refused install's token is revoked.
   */
  refuseInstall?(installedOn: InstallTarget | null, previous: InstallTarget | null): string | null;
}

export type AuthSpec = OAuthClientCredentialsAuth | StaticBearerAuth | OAuthInstallAuth;

/** Every `AuthSpec['kind']`, for schemas that name them (the API's `authKind`). */
export const AUTH_KINDS = [
  'oauth2_client_credentials',
  'static_bearer',
  'oauth2_install',
] as const satisfies readonly AuthSpec['kind'][];

/** How each auth kind reads in default connection names ("InvGate-Client Credentials-1"). */
export const AUTH_KIND_LABELS: Record<AuthSpec['kind'], string> = {
  oauth2_client_credentials: 'Client Credentials',
  static_bearer: 'Bearer Token',
  oauth2_install: 'OAuth Install',
};

/**
 * What an error found in an answer body means, when the vendor's hook knows (Slack answers HTTP 200 with
 * {ok:false} for everything): a refused token or client, a missing permission, throttling, an outage, or a
 * configuration the vendor will never accept. Unclassified errors deny a probe's permissions.
 */
export type BodyErrorKind = 'credentials' | 'permission' | 'rate_limited' | 'unavailable' | 'configuration';

export interface BodyError {
  code: string;
  message: string;
  kind?: BodyErrorKind;
}

export type RevokeSpec =
  | { supported: false; instructions: string }
  | {
      supported: true;
      revoke(
        ctx: VendorContext,
        credentials: Record<string, string>,
        accessToken: string | null,
      ): Promise<void>;
    };

/** What an operation's run learns about earlier attempts of the same job (crash or timeout before the record). */
export interface OperationAttempt {
  /** An earlier attempt of this job may have reached the vendor with the same request. */
  resumed: boolean;
  /** Note, durably, that a request that creates or removes something is about to be sent (so a later attempt knows). */
  markSent(): Promise<void>;
  /** The vendor's answer to that request said it made nothing (429, a refusal): a retry may send it again. */
  markNotSent(): Promise<void>;
  /**
   * This job's reference, the same in every attempt (`tether-job-<job id>`): stored with what a create makes
   * where the vendor has room for it, so a retry can find it there.
   */
  reference: string;
  /** The vendor's id of what an earlier attempt made and recorded (recordMade), else null. */
  madeEarlier: string | null;
  /**
   * Note, durably, what the create made (or the delete removes), before the steps after it (a retry continues, it
   * makes nothing twice).
   */
  recordMade(vendorId: string): Promise<void>;
}

/**
 * One provisioning operation a vendor supports (create user, deactivate user...): its input as a zod
 * schema (validated by the API, shown in OpenAPI) and how to run it with the connection's token.
 * Permanent refusals throw OperationRefused; transient ones VendorError.
 */
export interface OperationSpec<Input = unknown> {
  /** e.g. `create_user`; the `operation` of POST /v1/connections/{id}/jobs. */
  name: string;
  summary: string;
  input: z.ZodType<Input>;
  /**
   * Optional scopes of the vendor's list this operation needs for this input (NinjaOne's `management` to create
   * an end user): a job on a connection not granted one fails missing_permission before any call, naming it with
   * its purpose and where to grant it. Required scopes need no mention: without them no connection is usable.
   */
  scopes?(input: Input): readonly string[];
  run(
    ctx: VendorContext,
    accessToken: string,
    input: Input,
    attempt: OperationAttempt,
  ): Promise<OperationResult>;
}

export interface VendorDefinition {
  id: string;
  name: string;
  /** The vendor's name in default connection names ("InvGate-Client Credentials-1"); default: `name`. */
  shortName?: string;
  description: string;
  docsUrl?: string;
  auth: AuthSpec;
  instanceUrl: {
    label: string;
    example: string;
    /** Used when the customer gives none (e.g. Promapp's fixed SCIM base). */
    default?: string;
    help: string;
    /** Never entered by the customer: the vendor's addresses are fixed (Slack). */
    fixed?: boolean;
  };
  /**
   * Secret fields the customer pastes, each a string. Encrypted at rest, never echoed. Each field's `title`
   * meta is its label, its description the help; `format: 'password'` marks the ones a form masks.
   */
  credentials: z.ZodObject<Record<string, z.ZodType<string>>>;
  /** Non-secret options chosen at link time (labelled the same way). */
  settings: z.ZodObject;
  /** Every scope the product can use; the optional ones only where the connection's settings choose them. */
  scopes: ScopeRequirement[];
  probes: Probe[];
  revoke: RevokeSpec;
  /** What the customer clicks and pastes, in order. */
  setupSteps: string[];
  /** Where in the vendor's console a missing permission is granted (shown beside each missing one). */
  grantPermissions: string;
  /** Provisioning operations jobs can run on a connection of this vendor; none when absent. */
  operations?: readonly OperationSpec[];
  /**
   * The operation a lifecycle event's target runs when it names none, where it differs from the SCIM
   * defaults (create_user, update_user, deactivate_user): NinjaOne's joiner creates an end user.
   */
  lifecycleOperations?: Partial<Record<LifecycleKind, string>>;
  /** The vendor's documented rate limits, per connection, shared by every process (vendor-kit/rate-limits.ts). */
  rateLimits?: readonly RateLimitRule[];
  hooks?: {
    /** A 2xx answer that is really an error (InvGate answers 200 with {error}). */
    errorInBody?(body: unknown): BodyError | null;
    /** Base URL for API calls and probes, if not the instance URL. */
    apiBaseUrl?(ctx: VendorContext): string;
    /** Further API bases by name, where the vendor serves its API from more than one (Slack's SCIM host). */
    otherApiBaseUrls?(ctx: VendorContext): Record<string, string>;
    /** The vendor's own words in an error answer of any shape, for messages people read. */
    errorMessage?(body: unknown): string | null;
    /** The scope names this connection asks for, when its settings leave optional ones out (default: all). */
    chosenScopes?(ctx: VendorContext): string[];
    /** Instance URL when the customer gives none, from the settings (NinjaOne's region). */
    defaultInstanceUrl?(settings: Record<string, unknown>): string;
    /**
     * The instance's base URL from what the customer pasted (already parsed, without user name or password),
     * or what to enter instead. Default: `keepPath` in instance-url.ts (no query, fragment, trailing slash).
     */
    normaliseInstanceUrl?(url: URL): string | { error: string };
  };
}
