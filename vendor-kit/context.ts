// The VendorContext of one connection: built here only, for the worker's activities and the API alike.
import type { VendorContext, VendorEndpoints } from './definition';
import type { VendorHttp } from './vendor-http';

/** The fields of a stored connection that vendor code reads (none of them secret). */
export interface ConnectionTarget {
  instanceUrl: string;
  /** As stored: the settings object validated at link time. */
  settings: unknown;
}

export function vendorContext(
  connection: ConnectionTarget,
  http: VendorHttp,
  endpoints?: VendorEndpoints,
): VendorContext {
  return {
    instanceUrl: connection.instanceUrl,
    settings: (connection.settings ?? {}) as Record<string, unknown>,
    http,
    endpoints,
  };
}
