// What the Temporal Web UI shows for a connection's workflow before anyone opens it: a one-line summary
// (vendor, name, tenant) and details. Both are user metadata, encoded by the payload codec like any
// payload, and hold nothing secret: only what GET /v1/connections/{id} shows anyway.
import { findVendor } from '../catalog';
import type { Connection } from '../platform/db';

/** The UI truncates long summaries; names are cut well before that. */
const NAME_LENGTH = 80;

export function workflowSummary(connection: Connection): { staticSummary: string; staticDetails: string } {
  const vendor = findVendor(connection.vendor)?.name ?? connection.vendor;
  const host = hostOf(connection.instanceUrl);
  const name = connection.name.slice(0, NAME_LENGTH);
  return {
    staticSummary: `${vendor} · ${name} · tenant ${connection.tenantId}`,
    staticDetails: [
      `**Connection** ${connection.id}`,
      `**Vendor** ${vendor} (\`${connection.vendor}\`)`,
      `**Name** ${name}`,
      `**Instance** ${host}`,
      `**Tenant** ${connection.tenantId}`,
      `**Linked** ${connection.createdAt.toISOString()}`,
    ].join('\n'),
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
