// Whether a connection may run an operation that needs one of the vendor's optional scopes: decided from what
// the vendor last granted, before any call, so the job fails with what to grant and where instead of a bare 403.
import type { OperationSpec, VendorDefinition } from './definition';
import { OperationRefused } from './operation-error';

/** The fields of a stored connection this reads: its granted scopes, and the optional ones the vendor withheld. */
export interface GrantedScopes {
  grantedScopes: readonly string[];
  /** As stored: [{ scope, purpose }]. */
  missingOptional: unknown;
}

/**
 * The refusal for the first scope the operation needs for this input that the connection was not granted, or
 * null. A connection that records no granted scopes (its vendor does not say) is left to the vendor's answer.
 */
export function missingOperationScope<Input>(
  vendor: VendorDefinition,
  spec: OperationSpec<Input>,
  input: Input,
  connection: GrantedScopes,
): OperationRefused | null {
  if (connection.grantedScopes.length === 0) return null;
  const scope = spec.scopes?.(input).find((s) => !connection.grantedScopes.includes(s));
  if (scope === undefined) return null;
  const purpose = vendor.scopes.find((s) => s.scope === scope)?.purpose;
  const withheld =
    Array.isArray(connection.missingOptional) &&
    connection.missingOptional.some((m) => (m as { scope?: unknown })?.scope === scope);
  // Asked for and withheld: the vendor's side. Never asked for: the connection's settings left it out.
  const fix = withheld
    ? vendor.grantPermissions
    : `The connection does not ask for it: add ${scope} to its settings.scopes (PATCH /v1/connections/{id}), and make sure it is granted. ${vendor.grantPermissions}`;
  return new OperationRefused(
    'missing_permission',
    `${spec.name} needs the ${vendor.shortName ?? vendor.name} scope ${scope}${purpose ? ` (${purpose})` : ''}, which this connection was not granted. ${fix}`,
  );
}
