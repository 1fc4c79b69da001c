// Demo credentials select behaviour: the client_id (or static token) names a scenario, so the same
// simulator serves the README demo, integration tests and benchmarks without any setup call.

export type Scenario =
  | { readonly kind: 'all-scopes' }
  | { readonly kind: 'missing-scopes' }
  | { readonly kind: 'ttl'; readonly seconds: number }
  | { readonly kind: 'revoked' }
  | { readonly kind: 'rate-limited' }
  | { readonly kind: 'flaky' }
  | { readonly kind: 'down' }
  | { readonly kind: 'slow'; readonly ms: number }
  | { readonly kind: 'malformed' }
  /** InvGate: the token endpoint answers HTTP 200 with an OAuth error body. */
  | { readonly kind: '200-error' }
  /** Slack: rotating user tokens (refresh token + expires_in). */
  | { readonly kind: 'rotating'; readonly seconds: number }
  /** Slack: the user clicks "Cancel" on the consent page. */
  | { readonly kind: 'access-denied' };

export type ScenarioKind = Scenario['kind'];

/** Every client-credential demo client shares this secret; anything else is a bad secret. */
export const DEMO_SECRET = 'demo-secret';
export const DEFAULT_SLOW_MS = 3000;
/** Slack's documented lifetime of rotating tokens (12 h). */
export const DEFAULT_ROTATION_SECONDS = 43_200;

/** Scenarios every vendor understands; vendors add their own extras. */
export const COMMON_SCENARIOS: readonly ScenarioKind[] = [
  'all-scopes',
  'missing-scopes',
  'ttl',
  'revoked',
  'rate-limited',
  'flaky',
  'down',
  'slow',
  'malformed',
];

/** Scenarios that carry a number take it as a `-<n>` suffix: demo-ttl-5, demo-slow-250, demo-rotating-60. */
const ID_PATTERN = /^demo-([a-z0-9-]+?)(?:-(\d+))?$/;

/**
 * The scenario a demo credential names, if the vendor supports it.
 * Anything after the first '.' is ignored: `demo-ttl-5.conn42` behaves like `demo-ttl-5` but is its own
 * client for counters, faults and rate limits (benchmarks give every connection one).
 */
export function parseScenario(credential: string, supported: readonly ScenarioKind[]): Scenario | undefined {
  const dot = credential.indexOf('.');
  const id = dot === -1 ? credential : credential.slice(0, dot);
  const match = ID_PATTERN.exec(id);
  if (!match) return undefined;
  const name = match[1] as string;
  const number = match[2] === undefined ? undefined : Number(match[2]);
  const scenario = toScenario(name, number);
  return scenario && supported.includes(scenario.kind) ? scenario : undefined;
}

function toScenario(name: string, number: number | undefined): Scenario | undefined {
  switch (name) {
    case 'ttl':
      return number && number > 0 ? { kind: 'ttl', seconds: number } : undefined;
    case 'slow':
      return { kind: 'slow', ms: number ?? DEFAULT_SLOW_MS };
    case 'rotating':
      return { kind: 'rotating', seconds: number && number > 0 ? number : DEFAULT_ROTATION_SECONDS };
    case 'all-scopes':
    case 'missing-scopes':
    case 'revoked':
    case 'rate-limited':
    case 'flaky':
    case 'down':
    case 'malformed':
    case '200-error':
    case 'access-denied':
      return number === undefined ? { kind: name } : undefined;
    default:
      return undefined;
  }
}

/** Token lifetime the scenario imposes, or the vendor's default. */
export function lifetimeSeconds(scenario: Scenario, vendorDefault: number): number {
  if (scenario.kind === 'ttl' || scenario.kind === 'rotating') return scenario.seconds;
  return vendorDefault;
}
