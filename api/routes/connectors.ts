// The vendor catalog as customers see it: what to click, what to paste, which permissions and why.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findVendor, vendors, type VendorDefinition } from '../../catalog';
import { ApiError } from '../errors';
import { LIFECYCLE_KINDS } from '../../domain/lifecycle-events';
import { defaultOperation } from '../lifecycle-input';
import { ConnectorSchema, ConnectorSummarySchema, ErrorSchema, VendorParamsSchema } from '../schemas';

function summary(v: VendorDefinition) {
  return { id: v.id, name: v.name, description: v.description, authKind: v.auth.kind };
}

function detail(v: VendorDefinition) {
  const lifetime =
    v.auth.kind === 'oauth2_client_credentials'
      ? `access tokens are re-granted before expiry (${v.auth.defaultExpiresInSeconds} s when the vendor does not say)`
      : v.auth.kind === 'oauth2_install'
        ? 'tokens come from installing your OAuth app (POST /v1/connections/{id}/install); rotating tokens are renewed before expiry, others are checked periodically'
        : v.auth.lifetimeDays
          ? `the token you paste is valid ${v.auth.lifetimeDays} days and cannot be refreshed: issue a new one before it expires`
          : 'the token does not expire; it is checked periodically';
  return {
    ...summary(v),
    docsUrl: v.docsUrl,
    instanceUrl: v.instanceUrl,
    credentialFields: z.toJSONSchema(v.credentials) as Record<string, unknown>,
    settingsFields: z.toJSONSchema(v.settings) as Record<string, unknown>,
    requiredScopes: v.scopes,
    probes: v.probes.map(({ id, method, path, proves }) => ({ id, method, path, proves })),
    revoke: v.revoke.supported
      ? { supported: true }
      : { supported: false, instructions: v.revoke.instructions },
    tokenLifetime: lifetime,
    setupSteps: v.setupSteps,
    operations: (v.operations ?? []).map((operation) => ({
      name: operation.name,
      summary: operation.summary,
      // What a caller sends: an input schema's transforms and refinements are checked when a job starts.
      inputSchema: z.toJSONSchema(operation.input, { io: 'input', unrepresentable: 'any' }) as Record<
        string,
        unknown
      >,
    })),
    lifecycleOperations: Object.fromEntries(
      LIFECYCLE_KINDS.map((kind) => [kind, defaultOperation(v, kind)]).filter(([, name]) =>
        v.operations?.some((o) => o.name === name),
      ),
    ),
    rateLimits: (v.rateLimits ?? []).map((rule) => ({
      class: rule.class,
      ...rule.limit,
      description: rule.description,
    })),
  };
}

export const connectorRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/connectors',
    {
      schema: {
        tags: ['connectors'],
        response: { 200: z.object({ items: z.array(ConnectorSummarySchema) }) },
      },
    },
    async () => ({ items: vendors.map(summary) }),
  );

  app.get(
    '/connectors/:vendor',
    {
      schema: {
        tags: ['connectors'],
        params: VendorParamsSchema,
        response: { 200: ConnectorSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      const vendor = findVendor(request.params.vendor);
      if (!vendor) throw new ApiError(404, 'not_found', `no connector ${request.params.vendor}`);
      return detail(vendor);
    },
  );
};
