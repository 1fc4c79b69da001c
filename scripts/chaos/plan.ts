// What the chaos run links and what each connection must end as, drawn from a seeded generator so a
// run can be repeated (the plan and the fault schedule are; thread timing is not).

/** mulberry32: small, fast, good enough to pick cases and delays. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Vendor = 'invgate' | 'halo' | 'ninjaone' | 'promapp';

export type Expected = 'active' | 'insufficient_scopes' | 'invalid_credentials' | 'revoked';

export type Kind = 'good' | 'short_ttl' | 'missing_scopes' | 'bad_secret' | 'revoke' | 'rotate';

export interface PlannedLink {
  index: number;
  kind: Kind;
  vendor: Vendor;
  credentials: Record<string, string>;
  /** Sent with the link: a client retrying after a 5xx must not create a second connection. */
  idempotencyKey: string;
  expected: Expected;
  /** When to link, in ms after the chaos phase starts. */
  linkAtMs: number;
  /** revoke / rotate: when, in ms after the link answered. */
  commandAfterMs?: number;
  /** rotate: the credentials that must be live at the end. */
  rotateTo?: Record<string, string>;
}

const CLIENT_CREDENTIAL_VENDORS: Vendor[] = ['invgate', 'halo', 'ninjaone'];

export interface PlanOptions {
  connections: number;
  seed: number;
  durationMs: number;
  /** Token lifetime of the short-lived ones, seconds. */
  shortTtlSeconds: number;
}

/** Shares of the mix; the rest are long-lived good links. */
const SHARES: [Kind, number][] = [
  // Each refreshes every ~2.5 s: more than a few dozen saturate a 2-core machine by themselves.
  ['short_ttl', 0.06],
  ['missing_scopes', 0.12],
  ['bad_secret', 0.12],
  ['revoke', 0.12],
  ['rotate', 0.12],
];

export function makePlan(options: PlanOptions): PlannedLink[] {
  const random = prng(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const kinds: Kind[] = [];
  for (const [kind, share] of SHARES) {
    for (let i = 0; i < Math.round(options.connections * share); i++) kinds.push(kind);
  }
  while (kinds.length < options.connections) kinds.push('good');
  kinds.length = options.connections;
  // Fisher-Yates, seeded: the kinds arrive interleaved.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  // Links arrive over the first 40% of the chaos phase, so faults hit every stage of a lifecycle.
  const linkWindow = options.durationMs * 0.4;
  return kinds.map((kind, index) => {
    const tag = `c${options.seed}x${index}`;
    const clientCredentials = (clientId: string, clientSecret = 'demo-secret') => ({
      clientId,
      clientSecret,
    });
    let vendor: Vendor;
    let credentials: Record<string, string>;
    let expected: Expected;
    let rotateTo: Record<string, string> | undefined;
    switch (kind) {
      case 'good': {
        vendor = pick(['invgate', 'halo', 'ninjaone', 'promapp'] as const);
        credentials =
          vendor === 'promapp'
            ? { token: `demo-all-scopes.${tag}` }
            : clientCredentials(`demo-all-scopes.${tag}`);
        expected = 'active';
        break;
      }
      case 'short_ttl':
        vendor = pick(CLIENT_CREDENTIAL_VENDORS);
        credentials = clientCredentials(`demo-ttl-${options.shortTtlSeconds}.${tag}`);
        expected = 'active';
        break;
      case 'missing_scopes':
        vendor = pick(['invgate', 'halo', 'ninjaone', 'promapp'] as const);
        credentials =
          vendor === 'promapp'
            ? { token: `demo-missing-scopes.${tag}` }
            : clientCredentials(`demo-missing-scopes.${tag}`);
        // Halo's and NinjaOne's simulators withhold an optional scope only (read:assets, control): it never blocks.
        expected = vendor === 'halo' || vendor === 'ninjaone' ? 'active' : 'insufficient_scopes';
        break;
      case 'bad_secret':
        vendor = pick(['invgate', 'halo', 'ninjaone', 'promapp'] as const);
        // Promapp has no secret: an unknown token is its bad credential.
        credentials =
          vendor === 'promapp'
            ? { token: `unknown-token-${tag}` }
            : clientCredentials(`demo-all-scopes.${tag}`, 'not-the-secret');
        expected = 'invalid_credentials';
        break;
      case 'revoke':
        vendor = pick(['invgate', 'halo', 'ninjaone', 'promapp'] as const);
        credentials =
          vendor === 'promapp'
            ? { token: `demo-all-scopes.${tag}` }
            : clientCredentials(`demo-all-scopes.${tag}`);
        expected = 'revoked';
        break;
      case 'rotate':
        vendor = pick(['invgate', 'halo', 'ninjaone', 'promapp'] as const);
        credentials =
          vendor === 'promapp'
            ? { token: `demo-all-scopes.${tag}` }
            : clientCredentials(`demo-all-scopes.${tag}`);
        rotateTo =
          vendor === 'promapp'
            ? { token: `demo-all-scopes.${tag}r` }
            : clientCredentials(`demo-all-scopes.${tag}r`);
        expected = 'active';
        break;
    }
    const linkAtMs = Math.floor(random() * linkWindow);
    // Commands land anywhere from right after the link to the end of the chaos phase.
    const commandAfterMs =
      kind === 'revoke' || kind === 'rotate'
        ? Math.floor(random() * Math.max(1_000, options.durationMs - linkAtMs - 5_000))
        : undefined;
    return {
      index,
      kind,
      vendor,
      credentials,
      idempotencyKey: `chaos-${options.seed}-${index}`,
      expected,
      linkAtMs,
      commandAfterMs,
      rotateTo,
    };
  });
}

export type FaultKind = 'kill_worker' | 'restart_temporal' | 'restart_postgres' | 'postgres_outage';

export interface Fault {
  atMs: number;
  kind: FaultKind;
  /** kill_worker: how long the worker stays down before its restart; postgres_outage: how long PostgreSQL is down. */
  downMs: number;
}

export interface FaultOptions {
  seed: number;
  durationMs: number;
  workerKills: number;
  temporalRestarts: number;
  postgresRestarts: number;
  postgresOutages: number;
}

/** The fault schedule: spread over the chaos phase, each at a seeded random point of its slot. */
export function makeFaults(options: FaultOptions): Fault[] {
  const random = prng(options.seed ^ 0x5eed);
  const faults: Fault[] = [];
  const spread = (kind: FaultKind, count: number, from: number, to: number, down: () => number) => {
    const slot = (to - from) / Math.max(count, 1);
    for (let i = 0; i < count; i++) {
      faults.push({ kind, atMs: Math.floor(from + slot * i + random() * slot), downMs: down() });
    }
  };
  const d = options.durationMs;
  spread('kill_worker', options.workerKills, 0.03 * d, 0.95 * d, () => Math.floor(random() * 3_000));
  spread('restart_temporal', options.temporalRestarts, 0.15 * d, 0.85 * d, () => 0);
  spread('restart_postgres', options.postgresRestarts, 0.2 * d, 0.7 * d, () => 0);
  spread(
    'postgres_outage',
    options.postgresOutages,
    0.4 * d,
    0.9 * d,
    () => 3_000 + Math.floor(random() * 5_000),
  );
  return faults.sort((a, b) => a.atMs - b.atMs);
}
