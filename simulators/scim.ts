// SCIM 2.0 (RFC 7644) message shapes shared by the Promapp and Slack simulators.
import type { ErrorBody } from './vendor-runtime';

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export interface ScimError {
  schemas: string[];
  /** A string, as RFC 7644 §3.12 says. */
  status: string;
  detail: string;
  scimType?: string;
}

export function scimError(status: number, detail: string, scimType?: string): ScimError {
  return { schemas: [ERROR_SCHEMA], status: String(status), detail, ...(scimType ? { scimType } : {}) };
}

export const scimErrorBody: ErrorBody = (status, message) => scimError(status, message);

export function listResponse(resources: unknown[], totalResults: number, startIndex: number) {
  return {
    schemas: [LIST_SCHEMA],
    totalResults,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

export function isPatchOp(body: unknown): body is { Operations: unknown[] } {
  if (!body || typeof body !== 'object') return false;
  const b = body as { schemas?: unknown; Operations?: unknown };
  return Array.isArray(b.Operations) && (!Array.isArray(b.schemas) || b.schemas.includes(PATCH_SCHEMA));
}

export function serviceProviderConfig(documentationUri: string) {
  return {
    schemas: [CONFIG_SCHEMA],
    documentationUri,
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: 100 },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'Authorization: Bearer <token>' },
    ],
  };
}
