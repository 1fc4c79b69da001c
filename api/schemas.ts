// zod schemas: the single source of request validation, TypeScript types and the OpenAPI document.
import { z } from 'zod';
import { vendors, type VendorDefinition } from '../catalog';
import { AUTH_KINDS } from '../vendor-kit/definition';
import { CONNECTION_STATUSES, ROTATION_REJECTION_REASONS, VENDOR_REVOCATIONS } from '../domain/connection';
import { TagFilterSchema, TagsSchema } from './tags';

export const ConnectionStatusSchema = z.enum(CONNECTION_STATUSES);
const VendorIdSchema = z.enum(vendors.map((v) => v.id) as [string, ...string[]]);

export const ErrorSchema = z
  .object({
    error: z.string().describe('machine-readable code, e.g. validation_failed, not_found, conflict'),
    message: z.string(),
    issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Error' });

const NameSchema = z.string().trim().min(1).max(200);
const instanceUrl = z
  .string()
  .trim()
  .min(1)
  .max(2048)
  .describe('as pasted: normalised per vendor (see README, Vendors); the answer shows what is stored');

/** `slack-grid` → `SlackGrid`, for OpenAPI component names. */
const pascalCase = (id: string) =>
  id.replace(/(^|[-_])(\w)/g, (_match, _sep, letter: string) => letter.toUpperCase());

/** The create body for one vendor: its credential and settings fields. */
const createConnectionFor = (v: VendorDefinition) =>
  z
    .object({
      vendor: z.literal(v.id),
      instanceUrl: v.instanceUrl.default ? instanceUrl.optional() : instanceUrl,
      name: NameSchema.optional().describe(
        'Default: "<vendor>-<auth kind>-<n>", numbered per tenant, e.g. "InvGate-Client Credentials-1"',
      ),
      tags: TagsSchema.optional(),
      credentials: v.credentials,
      settings: v.settings.optional(),
    })
    .strict()
    .meta({ id: `Create${pascalCase(v.id)}Connection` });

/** One branch per vendor: `vendor` selects which credential and settings fields are valid. */
export const CreateConnectionSchema = z
  .discriminatedUnion(
    'vendor',
    vendors.map(createConnectionFor) as [
      ReturnType<typeof createConnectionFor>,
      ...ReturnType<typeof createConnectionFor>[],
    ],
  )
  .meta({ id: 'CreateConnection' });
export type CreateConnectionBody = z.infer<typeof CreateConnectionSchema>;

export const RotateCredentialsSchema = z
  .object({
    credentials: z
      .record(z.string().max(64), z.string().max(4096))
      .describe("the vendor's credential fields, as when linking (see GET /v1/connectors/{vendor})"),
  })
  .strict();

/** PATCH: rename, re-tag, change settings; without a relink. */
export const UpdateConnectionSchema = z
  .object({
    name: NameSchema.optional(),
    tags: TagsSchema.optional().describe("replaces all the connection's tags ({} removes them)"),
    settings: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'merged into the current settings key by key (null puts a key back to its default), then validated like at link (GET /v1/connectors/{vendor}). A change is verified with the vendor like a credential rotation before it is taken.',
      ),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, 'give at least one of name, tags, settings')
  .meta({ id: 'UpdateConnection' });

export const IdParamsSchema = z.object({ id: z.uuid() });
export const VendorParamsSchema = z.object({ vendor: z.string().max(64) });

export const ListQuerySchema = z
  .object({
    vendor: VendorIdSchema.optional(),
    status: ConnectionStatusSchema.optional(),
    name: NameSchema.optional().describe('exact name (case-sensitive)'),
    namePrefix: NameSchema.optional().describe('names starting with this, ignoring case'),
    tag: TagFilterSchema,
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z
      .string()
      .max(512)
      .optional()
      .describe(
        "the previous page's nextCursor (opaque; it continues only the list of the tenant it came from)",
      ),
  })
  .strict();

const MissingScopeSchema = z.object({ scope: z.string(), purpose: z.string() });
const iso = z.string().nullable();
const InstalledPlaceSchema = z.object({ id: z.string(), name: z.string().nullable() }).nullable();

export const InstalledOnSchema = z
  .object({
    level: z.enum(['organization', 'workspace']),
    organization: InstalledPlaceSchema.describe('Slack: the Enterprise Grid organization (enterprise)'),
    workspace: InstalledPlaceSchema.describe('Slack: the workspace (team); null for an org-level install'),
  })
  .meta({ id: 'InstalledOn' });

export const ConnectionSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.string(),
    vendor: z.string(),
    instanceUrl: z.string().describe('normalised from what was entered'),
    name: z.string(),
    tags: z.record(z.string(), z.string()),
    settings: z.record(z.string(), z.unknown()),
    status: ConnectionStatusSchema,
    statusReason: z.string().nullable(),
    statusMessage: z.string().nullable(),
    missingScopes: z
      .array(MissingScopeSchema)
      .describe(
        'required permissions the vendor withheld: the connection cannot work until they are granted',
      ),
    missingOptionalScopes: z
      .array(MissingScopeSchema)
      .describe(
        'optional permissions the vendor withheld: the connection works, without the feature each purpose names',
      ),
    grantedScopes: z.array(z.string()),
    tokenExpiresAt: iso.describe(
      'expiry of the token in use; null when none is held or it is not one to use (needs_reauth, invalid_credentials, revoked)',
    ),
    credentialExpiresAt: iso,
    lastCheckedAt: iso,
    lastSuccessAt: iso,
    nextCheckAt: iso,
    consecutiveFailures: z
      .number()
      .int()
      .describe('checks failed since the last success, outages, refusals and missing permissions alike'),
    failingSince: iso.describe('when the current run of failed checks began; null while checks succeed'),
    lastError: z
      .object({
        reason: z
          .string()
          .nullable()
          .describe('e.g. vendor_unavailable, configuration_fault, credentials_rejected'),
        message: z.string().nullable(),
        at: iso,
      })
      .nullable()
      .describe(
        'what the last failed check said, while checks fail (nextCheckAt says when tether tries again)',
      ),
    vendorRevocation: z.enum(VENDOR_REVOCATIONS).nullable(),
    revokeInstructions: z.string().nullable().describe('what to do at the vendor when it has no revoke API'),
    revokedAt: iso,
    installedOn: InstalledOnSchema.nullable().describe(
      'OAuth installs: where the vendor installed the app; a reinstall elsewhere is refused',
    ),
    createdAt: z.string(),
    updatedAt: z.string(),
    workflowId: z.string(),
  })
  .meta({ id: 'Connection' });

export const ConnectionListSchema = z.object({
  items: z.array(ConnectionSchema),
  nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page'),
});

export const CommandAcceptedSchema = z.object({
  id: z.uuid(),
  status: ConnectionStatusSchema,
  coalesced: z
    .boolean()
    .describe(
      'joined an equal command that had not started (for a refresh: whose token request was not sent yet)',
    ),
});

export const RotationResultSchema = z.object({
  outcome: z.enum(['accepted', 'rejected']),
  reason: z.enum(ROTATION_REJECTION_REASONS).optional(),
  message: z.string().optional(),
  missingScopes: z.array(MissingScopeSchema).optional(),
  connection: ConnectionSchema,
});

export const UpdateConnectionResultSchema = z.object({
  outcome: z
    .enum(['updated', 'rejected'])
    .describe('rejected: the vendor refused the new settings, and nothing was changed'),
  settingsVerified: z.boolean().describe('the settings changed and were verified with the vendor'),
  reason: z.enum(ROTATION_REJECTION_REASONS).optional(),
  message: z.string().optional(),
  missingScopes: z.array(MissingScopeSchema).optional(),
  connection: ConnectionSchema,
});

export const AuditEventSchema = z.object({
  id: z.string(),
  type: z.string(),
  fromStatus: ConnectionStatusSchema.nullable(),
  toStatus: ConnectionStatusSchema.nullable(),
  actor: z.string(),
  detail: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});

export const ConnectorSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  authKind: z.enum(AUTH_KINDS),
});

export const ConnectorSchema = ConnectorSummarySchema.extend({
  docsUrl: z.string().optional(),
  instanceUrl: z.object({
    label: z.string(),
    example: z.string(),
    default: z.string().optional(),
    help: z.string(),
  }),
  credentialFields: z.record(z.string(), z.unknown()).describe('JSON Schema of the secret fields'),
  settingsFields: z.record(z.string(), z.unknown()).describe('JSON Schema of the non-secret options'),
  requiredScopes: z.array(
    MissingScopeSchema.extend({
      optional: z.boolean().optional().describe('may be left out in settings.scopes'),
    }),
  ),
  probes: z.array(
    z.object({ id: z.string(), method: z.string(), path: z.string(), proves: z.array(z.string()) }),
  ),
  revoke: z.object({ supported: z.boolean(), instructions: z.string().optional() }),
  tokenLifetime: z.string(),
  setupSteps: z.array(z.string()),
});

export const InstallStartedSchema = z.object({
  connectionId: z.uuid(),
  authorizeUrl: z
    .string()
    .describe("the vendor's consent page: open it as the vendor account's admin and allow the install"),
  expiresAt: z.string().describe('the install must be completed by then; its state is single-use'),
});

/** What the vendor's consent page sends back; other parameters it adds are ignored. */
export const OAuthCallbackQuerySchema = z.object({
  state: z.string().min(1).max(512),
  code: z.string().min(1).max(2048).optional(),
  error: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional()
    .describe('set instead of code when the install was not approved, e.g. access_denied'),
});

export const InstallCallbackResultSchema = z.object({
  connectionId: z.uuid(),
  outcome: z.enum(['authorized', 'denied']),
  status: ConnectionStatusSchema.describe('the status now; an authorized install is verified next'),
  message: z.string(),
});
