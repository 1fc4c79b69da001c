// A lifecycle target's job input: what the person gives, as the catalog's SCIM user operations (and
// NinjaOne's end user operations) name it, under the target's own attributes. Other operations (a service
// desk's request) take the target's input as it is.
import type { VendorDefinition } from '../catalog';
import { DEFAULT_OPERATION, type LifecycleKind } from '../domain/lifecycle-events';
import type { CreateLifecycleEvent } from './lifecycle-schemas';

type Person = CreateLifecycleEvent['person'];

/** The operation a target of this vendor runs for the kind when it names none: the vendor's, else SCIM's. */
export function defaultOperation(vendor: VendorDefinition, kind: LifecycleKind): string {
  return vendor.lifecycleOperations?.[kind] ?? DEFAULT_OPERATION[kind];
}

/** The user a mover's or leaver's operation acts on: found by externalId, else by userName. */
const userRef = (p: Person) =>
  p.externalId !== undefined
    ? { externalId: p.externalId }
    : p.userName !== undefined
      ? { userName: p.userName }
      : undefined;

const FROM_PERSON: Record<string, (p: Person) => Record<string, unknown>> = {
  create_user: (p) => ({
    userName: p.userName ?? p.email,
    externalId: p.externalId,
    emails: p.email === undefined ? undefined : [{ value: p.email, primary: true }],
  }),
  update_user: (p) => ({ user: userRef(p) }),
  deactivate_user: (p) => ({ user: userRef(p) }),
  reactivate_user: (p) => ({ user: userRef(p) }),
  // NinjaOne keeps an end user's email unique: the person's email names them there.
  create_end_user: (p) => ({ email: p.email }),
  delete_end_user: (p) => ({ user: p.email === undefined ? undefined : { email: p.email } }),
  find_end_user: (p) => ({ email: p.email }),
};

export function targetInput(
  operation: string,
  person: Person,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const given = Object.entries(FROM_PERSON[operation]?.(person) ?? {}).filter(([, v]) => v !== undefined);
  return { ...Object.fromEntries(given), ...input };
}
