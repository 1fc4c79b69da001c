import { defineSearchAttributeKey } from '@temporalio/common';

// Typed search attributes so operators can filter connections in the Temporal Web UI
// (e.g. `TetherStatus = "needs_reauth" AND TetherVendor = "invgate"`). They must be
// registered on the server: the dev server is started with them, docker compose registers them.
export const VENDOR = defineSearchAttributeKey('TetherVendor', 'KEYWORD');
export const STATUS = defineSearchAttributeKey('TetherStatus', 'KEYWORD');
export const TENANT = defineSearchAttributeKey('TetherTenant', 'KEYWORD');

export const SEARCH_ATTRIBUTE_TYPES = {
  [VENDOR.name]: 'Keyword',
  [STATUS.name]: 'Keyword',
  [TENANT.name]: 'Keyword',
} as const;
