// Granted versus asked for: from what the vendor says it granted (token claim or `scope` field) and from
// probes, which win over claims (Halo's effective permission is app ∩ agent, for one). A missing required
// scope stops the connection; a missing optional one only disables the feature its purpose names.
import type { VendorDefinition } from './definition';
import type { Probe, ScopeRequirement, VendorContext } from './definition';
import type { ScopeVerification } from '../domain/connection';
import { runProbe } from './probes';

export type VerificationMode =
  /** Every probe: at link, on rotation, after a human acted. */
  | 'full'
  /** After a routine refresh: the granted-scope claim only, or every probe when there is none. */
  | 'claims'
  /** Periodic check of a token that never expires: the health probe(s) only. */
  | 'health';

/** The scopes this connection asks for: all of the vendor's, or those its settings chose. */
export function requestedScopes(vendor: VendorDefinition, ctx: VendorContext): ScopeRequirement[] {
  const chosen = vendor.hooks?.chosenScopes?.(ctx);
  if (!chosen) return vendor.scopes;
  return vendor.scopes.filter((s) => chosen.includes(s.scope));
}

/** The scopes this connection cannot work without: those it asks for, less the optional ones. */
export function requiredScopes(vendor: VendorDefinition, ctx: VendorContext): ScopeRequirement[] {
  return requestedScopes(vendor, ctx).filter((s) => !s.optional);
}

export async function verifyScopes(
  vendor: VendorDefinition,
  ctx: VendorContext,
  accessToken: string,
  claimed: string[] | null,
  mode: VerificationMode,
): Promise<ScopeVerification> {
  const asked = requestedScopes(vendor, ctx);
  // A token granted no scope never links: Halo's still authenticates, so probes alone would mislead.
  if (claimed !== null && claimed.length === 0) return found(asked, () => false, [], []);

  const probes = selectProbes(vendor.probes, mode, claimed !== null, new Set(asked.map((s) => s.scope)));
  const proven = new Set<string>();
  const denied = new Set<string>();
  const results: ScopeVerification['probes'] = [];
  // One at a time: probes are cheap, and a burst would eat into the vendor's rate limit.
  for (const probe of probes) {
    const tokenAccepted = results.some((r) => r.ok);
    const result = await runProbe(vendor, ctx, probe, accessToken, tokenAccepted);
    results.push({ probe: probe.id, ok: result === 'granted' });
    for (const scope of probe.proves) (result === 'granted' ? proven : denied).add(scope);
  }
  const claimedSet = claimed === null ? null : new Set(claimed);
  const isGranted = (scope: string) =>
    !denied.has(scope) && (proven.has(scope) || (claimedSet?.has(scope) ?? mode === 'health'));
  const granted = [...new Set([...(claimed ?? []), ...proven])].filter((s) => !denied.has(s)).sort();
  return found(asked, isGranted, granted, results);
}

/** What a check found: a required scope not granted stops the connection, an optional one is only listed. */
function found(
  asked: ScopeRequirement[],
  isGranted: (scope: string) => boolean,
  granted: string[],
  probes: ScopeVerification['probes'],
): ScopeVerification {
  const absent = asked.filter((s) => !isGranted(s.scope));
  const named = (scopes: ScopeRequirement[]) => scopes.map(({ scope, purpose }) => ({ scope, purpose }));
  return {
    granted,
    missing: named(absent.filter((s) => !s.optional)),
    missingOptional: named(absent.filter((s) => s.optional)),
    probes,
  };
}

function selectProbes(
  probes: Probe[],
  mode: VerificationMode,
  hasClaims: boolean,
  asked: Set<string>,
): Probe[] {
  if (mode === 'health') return probes.filter((p) => p.health);
  if (mode === 'claims' && hasClaims) return [];
  // A probe only for scopes this connection did not ask for could only be denied: skip the call.
  return probes.filter((p) => p.proves.length === 0 || p.proves.some((scope) => asked.has(scope)));
}
