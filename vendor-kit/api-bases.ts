// Where a vendor's API lives for a connection: its main base (the vendor's apiBaseUrl hook, else the
// instance URL) under the name `default`, and any others the vendor names (Slack: `scim`).
import type { VendorContext, VendorDefinition } from './definition';

export const DEFAULT_API_BASE = 'default';

export function apiBaseUrls(vendor: VendorDefinition, ctx: VendorContext): Record<string, string> {
  return {
    [DEFAULT_API_BASE]: vendor.hooks?.apiBaseUrl?.(ctx) ?? ctx.instanceUrl,
    ...vendor.hooks?.otherApiBaseUrls?.(ctx),
  };
}
