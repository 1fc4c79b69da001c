// What the API shows of a connection: the row (which holds no secret) plus catalog hints.
import type { z } from 'zod';
import { findVendor } from '../catalog';
import type { Connection } from '../platform/db';
import { connectionWorkflowId } from '../workflows/ids';
import type { MissingScope, VendorRevocation } from '../domain/connection';
import type { InstallTarget } from '../vendor-kit/definition';
import type { ConnectionSchema } from './schemas';
import { workflowUiUrl, type TemporalUi } from './temporal-ui';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** `ui`: where the Temporal Web UI is, for the link to the workflow (none without it). */
export function connectionView(c: Connection, ui?: TemporalUi): z.output<typeof ConnectionSchema> {
  const vendor = findVendor(c.vendor);
  const revoke = vendor?.revoke;
  return {
    id: c.id,
    tenantId: c.tenantId,
    vendor: c.vendor,
    instanceUrl: c.instanceUrl,
    name: c.name,
    tags: (c.tags ?? {}) as Record<string, string>,
    settings: (c.settings ?? {}) as Record<string, unknown>,
    status: c.status,
    statusReason: c.statusReason,
    statusMessage: c.statusMessage,
    missingScopes: (c.missingScopes ?? []) as unknown as MissingScope[],
    missingOptionalScopes: (c.missingOptional ?? []) as unknown as MissingScope[],
    grantedScopes: c.grantedScopes,
    tokenExpiresAt: iso(c.tokenExpiresAt),
    credentialExpiresAt: iso(c.credentialExpiresAt),
    lastCheckedAt: iso(c.lastCheckedAt),
    lastSuccessAt: iso(c.lastSuccessAt),
    nextCheckAt: iso(c.nextCheckAt),
    consecutiveFailures: c.consecutiveFailures,
    failingSince: iso(c.failingSince),
    // The status's reason and message are the last failure's while checks fail.
    lastError: c.failingSince
      ? { reason: c.statusReason, message: c.statusMessage, at: iso(c.lastCheckedAt) }
      : null,
    // Written only by the revoke step, from VENDOR_REVOCATIONS.
    vendorRevocation: c.vendorRevocation as VendorRevocation | null,
    revokeInstructions: revoke && !revoke.supported ? revoke.instructions : null,
    revokedAt: iso(c.revokedAt),
    installedOn: (c.installedOn ?? null) as InstallTarget | null,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    workflowId: connectionWorkflowId(c.id),
    workflowUrl: workflowUiUrl(ui, connectionWorkflowId(c.id)),
  };
}
