// Granted versus required: from what the vendor says it granted (token claim or `scope` field)
// and from probes, which win over claims (Halo's effective permission is app ∩ agent, for one).
import type { VendorDefinition } from '../catalog';
import type { Probe, VendorContext } from '../catalog/types';
import type { ScopeVerification } from '../workflows/types';
import { runProbe } from './probes';

export type VerificationMode =
  /** Every probe: at link, on rotation, after a human acted. */
  | 'full'
  /** After a routine refresh: the granted-scope claim only, or every probe when there is none. */
  | 'claims'
  /** Periodic check of a token that never expires: the health probe(s) only. */
  | 'health';

export async function verifyScopes(
  vendor: VendorDefinition,
  ctx: VendorContext,
  accessToken: string,
  claimed: string[] | null,
  mode: VerificationMode,
): Promise<ScopeVerification> {
  const probes = selectProbes(vendor.probes, mode, claimed !== null);
  const proven = new Set<string>();
  const denied = new Set<string>();
  const results: ScopeVerification['probes'] = [];
  // One at a time: probes are cheap, and a burst would eat into the vendor's rate limit.
  for (const probe of probes) {
    const result = await runProbe(vendor, ctx, probe, accessToken);
    results.push({ probe: probe.id, ok: result === 'granted' });
    for (const scope of probe.proves) (result === 'granted' ? proven : denied).add(scope);
  }
  const claimedSet = claimed === null ? null : new Set(claimed);
  const isGranted = (scope: string) =>
    !denied.has(scope) && (proven.has(scope) || (claimedSet?.has(scope) ?? mode === 'health'));
  const granted = [...new Set([...(claimed ?? []), ...proven])].filter((s) => !denied.has(s)).sort();
  const missing = vendor.scopes
    .filter((s) => !isGranted(s.scope))
    .map(({ scope, purpose }) => ({ scope, purpose }));
  return { granted, missing, probes: results };
}

function selectProbes(probes: Probe[], mode: VerificationMode, hasClaims: boolean): Probe[] {
  if (mode === 'full') return probes;
  if (mode === 'health') return probes.filter((p) => p.health);
  return hasClaims ? [] : probes;
}
