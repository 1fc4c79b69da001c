// Granted scopes are shared, frozen sets: a fleet of 10,000 tokens holding the same grant costs one set.

export type ScopeSet = ReadonlySet<string>;

const MAX_INTERNED = 1024;
const interned = new Map<string, ScopeSet>();

export const NO_SCOPES: ScopeSet = new Set<string>();

/** The canonical set for these scopes (deduplicated; order does not matter). */
export function internScopes(scopes: Iterable<string>): ScopeSet {
  const sorted = [...new Set(scopes)].sort();
  if (sorted.length === 0) return NO_SCOPES;
  const key = sorted.join(' ');
  let set = interned.get(key);
  if (!set) {
    set = new Set(sorted);
    // Unusual grants (a fuzzing test) must not grow the cache without bound.
    if (interned.size < MAX_INTERNED) interned.set(key, set);
  }
  return set;
}

/** Splits an OAuth scope parameter: space-separated by the RFC, comma-separated at Slack. */
export function splitScopes(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return value.split(/[\s,]+/).filter((s) => s.length > 0);
}
