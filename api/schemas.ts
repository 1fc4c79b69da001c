// zod schemas: the single source of request validation, TypeScript types and the OpenAPI document.
import { z } from 'zod';
import { vendors, type VendorDefinition } from '../catalog';
import { AUTH_KINDS } from '../vendor-kit/definition';
import { CONNECTION_STATUSES, ROTATION_REJECTION_REASONS, VENDOR_REVOCATIONS } from '../domain/connection';
import { AUDIT_EVENT_TYPES, COMMANDS } from '../domain/audit-events';
import { TagFilterSchema, TagsSchema } from './tags';

export const ConnectionStatusSchema = z.enum(CONNECTION_STATUSES);
const VendorIdSchema = z.enum(vendors.map((v) => v.id) as [string, ...string[]]);

export const ErrorSchema = z
  .object({
    error: z.string().describe('machine-readable code, e.g. validation_failed, not_found, conflict'),
    message: z.string(),
    issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    errorId: z
      .string()
      .optional()
      .describe('an internal failure: what the log holds it under (its text stays there), for the operator'),
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

export const IdempotencyHeadersSchema = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional()
    .describe('a retry with the same key is the same request: the same link, or the same command'),
});

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
    workflowUrl: z
      .string()
      .nullable()
      .describe("the workflow's page in the Temporal Web UI; null unless TETHER_TEMPORAL_UI_URL is set"),
  })
  .meta({ id: 'Connection' });

export const ConnectionListSchema = z.object({
  items: z.array(ConnectionSchema),
  nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null on the last page'),
});

/** The longest a command waits for its outcome (`?wait=`), on top of the wait for Temporal to take it. */
export const MAX_COMMAND_WAIT_SECONDS = 30;

export const CommandQuerySchema = z
  .object({
    wait: z.coerce
      .number()
      .int()
      .min(0)
      .max(MAX_COMMAND_WAIT_SECONDS)
      .optional()
      .describe(
        `seconds (0-${MAX_COMMAND_WAIT_SECONDS}) to wait for what the command led to: 200 with the outcome when it came in time, else 202 with links to poll`,
      ),
  })
  .strict();

export const ActorSchema = z
  .discriminatedUnion('kind', [
    z.object({
      kind: z.literal('api'),
      keyId: z.uuid().nullable().describe('the API key (null on events recorded before keys were named)'),
      label: z.string().nullable().describe("the key's name when the event was recorded"),
    }),
    z.object({
      kind: z.literal('connect_session').describe('the end user on the connect page'),
      sessionId: z.string().nullable().describe('the connect session'),
    }),
    z.object({ kind: z.literal('workflow').describe("the connection's own maintenance") }),
    z.object({ kind: z.literal('operator'), command: z.string().describe('e.g. keys:reencrypt') }),
  ])
  .meta({ id: 'Actor' });

export const AuditEventSchema = z
  .object({
    id: z.string(),
    type: z.string().describe(`one of ${AUDIT_EVENT_TYPES.join(', ')}`),
    fromStatus: ConnectionStatusSchema.nullable(),
    toStatus: ConnectionStatusSchema.nullable(),
    actor: ActorSchema,
    detail: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .meta({ id: 'AuditEvent' });

const CommandLinksSchema = z.object({
  self: z.string().describe('the connection'),
  events: z.string().describe('its audit trail from just before the command: what the command led to'),
});

export const CommandOutcomeSchema = z.object({
  event: z.string().nullable().describe('the last transition the step recorded, e.g. refresh_succeeded'),
  status: ConnectionStatusSchema.describe('the status after the step'),
  error: z
    .object({ reason: z.string(), message: z.string().nullable() })
    .nullable()
    .describe('why the step failed, when the status is not a healthy one'),
  tokenExpiresAt: z.string().nullable(),
  nextCheckAt: z.string().nullable(),
  vendorRevocation: z.enum(VENDOR_REVOCATIONS).nullable().describe('after a revoke'),
});

export const CommandAnswerSchema = z
  .object({
    id: z.uuid(),
    command: z.enum(COMMANDS),
    status: ConnectionStatusSchema.describe('the status when the workflow took the command'),
    coalesced: z
      .boolean()
      .describe(
        'joined an equal command that had not started (for a refresh: whose token request was not sent yet)',
      ),
    completed: z.boolean().describe('the step the command caused has run (only ever true with ?wait)'),
    outcome: CommandOutcomeSchema.nullable().describe('what the step did, once completed'),
    events: z
      .array(AuditEventSchema)
      .describe('once completed: what was recorded since the command was sent, oldest first'),
    links: CommandLinksSchema,
  })
  .meta({ id: 'CommandAnswer' });

export const RotationResultSchema = z.object({
  outcome: z
    .enum(['accepted', 'rejected', 'pending'])
    .describe('pending: the workflow took the rotation but had not finished it within the wait (202)'),
  reason: z.enum(ROTATION_REJECTION_REASONS).optional(),
  message: z.string().optional(),
  missingScopes: z.array(MissingScopeSchema).optional(),
  connection: ConnectionSchema,
  links: CommandLinksSchema,
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

/** `?type=` takes event types comma-separated, or repeated. */
const eventTypeList = z
  .union([z.string().max(2000), z.array(z.string().max(100)).max(50)])
  .transform((value, ctx) => {
    const types = (Array.isArray(value) ? value : [value])
      .flatMap((v) => v.split(','))
      .map((t) => t.trim())
      .filter(Boolean);
    const known = new Set<string>(AUDIT_EVENT_TYPES);
    const unknown = types.filter((t) => !known.has(t));
    if (unknown.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown event type ${unknown.map((t) => JSON.stringify(t)).join(', ')}; known: ${AUDIT_EVENT_TYPES.join(', ')}`,
      });
      return z.NEVER;
    }
    return types as (typeof AUDIT_EVENT_TYPES)[number][];
  });

const eventCursor = z.string().max(256);

export const EventsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    before: eventCursor.optional().describe('olderCursor of a page: the events before it'),
    after: eventCursor.optional().describe('newerCursor of a page: the events after it (poll with it)'),
    type: eventTypeList.optional().describe('only these event types, comma-separated'),
  })
  .strict();

export const EventPageSchema = z.object({
  items: z.array(AuditEventSchema).describe('newest first'),
  olderCursor: z.string().nullable().describe('pass as ?before= for older events; null when there are none'),
  newerCursor: z.string().describe('pass as ?after= for events newer than this page'),
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
  operations: z
    .array(
      z.object({
        name: z.string().describe('the `operation` of POST /v1/connections/{id}/jobs'),
        summary: z.string(),
        inputSchema: z.record(z.string(), z.unknown()).describe("JSON Schema of the job's `input`"),
      }),
    )
    .describe('what provisioning jobs can do on a connection of this vendor'),
  lifecycleOperations: z
    .partialRecord(z.enum(['joiner', 'mover', 'leaver']), z.string())
    .describe(
      "the operation a lifecycle event's target runs when it names none; a kind left out must name one",
    ),
  rateLimits: z
    .array(
      z.object({
        class: z.string(),
        requests: z.number().int(),
        windowSeconds: z.number().int(),
        burst: z.number().int(),
        description: z.string(),
      }),
    )
    .describe(
      "the vendor's documented limits per connection, shared by every worker and API replica (the catalog's; TETHER_VENDOR_RATE_LIMITS overrides them)",
    ),
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
