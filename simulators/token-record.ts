import type { Expiring } from './expiring-map';
import type { Scenario } from './scenario';
import type { ScopeSet } from './scopes';

/** One authorization (Slack's install): revoking it kills every access and refresh token it produced. */
export interface TokenChain {
  revoked: boolean;
}

/** What the simulator knows about a token it issued, or a static demo token it has seen. */
export interface TokenRecord extends Expiring {
  /** The client_id it was issued to, or the static token itself. */
  readonly subject: string;
  readonly scenario: Scenario;
  readonly scopes: ScopeSet;
  /** Issue order; tokens issued before a revoke-all of their subject are revoked. Static tokens are 0. */
  readonly seq: number;
  revoked: boolean;
  readonly chain?: TokenChain;
}

/** Why a presented token does not work. */
export type AuthFailure = 'missing' | 'invalid' | 'expired' | 'revoked';
