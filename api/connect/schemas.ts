// zod schemas of the connect session routes (API key) and of the connect page's own API (session token).
import { z } from 'zod';
import { vendors } from '../../catalog';
import { ConnectionStatusSchema } from '../schemas';
import { TagsSchema } from '../tags';
import { CONNECT_OUTCOMES } from './outcome';

const vendorIds = vendors.map((v) => v.id) as [string, ...string[]];

export const DEFAULT_SESSION_MINUTES = 30;
const MAX_SESSION_MINUTES = 24 * 60;
const MAX_RETURN_URLS = 20;

export const CreateConnectSessionSchema = z
  .object({
    vendors: z
      .array(z.enum(vendorIds))
      .min(1)
      .max(vendorIds.length)
      .optional()
      .describe('catalog ids the end user may choose from; default: every vendor'),
    tags: TagsSchema.optional().describe('copied onto the connection the session creates'),
    returnUrl: z
      .string()
      .trim()
      .max(2048)
      .optional()
      .describe(
        'where the page sends the end user at the end (with connection_id, outcome, status, session_id), and the only origin it posts a message to when opened as a popup or in an iframe; must match an entry of PUT /v1/connect-return-urls',
      ),
    expiresInMinutes: z
      .number()
      .int()
      .min(1)
      .max(MAX_SESSION_MINUTES)
      .default(DEFAULT_SESSION_MINUTES)
      .describe('the token dies then, or when the session completes, whichever is first'),
    connectionId: z
      .uuid()
      .optional()
      .describe('reconnect this connection (new credentials, or a new install) instead of linking a new one'),
  })
  .strict()
  .meta({ id: 'CreateConnectSession' });

const sessionFields = {
  id: z.uuid(),
  mode: z.enum(['link', 'reconnect']),
  vendors: z.array(z.string()),
  tags: z.record(z.string(), z.string()),
  returnUrl: z.string().nullable(),
  connectionId: z.uuid().nullable().describe('the connection reconnected, or the one the session created'),
  expiresAt: z.string(),
};

export const ConnectSessionCreatedSchema = z
  .object({
    ...sessionFields,
    token: z
      .string()
      .describe(
        'shown once; it is in `url` already. Grants only this session: see the README, "Connect page"',
      ),
    url: z
      .string()
      .describe("the connect page: send the end user's browser there (redirect, popup or iframe)"),
  })
  .meta({ id: 'ConnectSessionCreated' });

export const ConnectSessionSchema = z
  .object({
    ...sessionFields,
    state: z.enum(['open', 'completed', 'expired']),
    outcome: z.string().nullable().describe('what the page reported at the end (active, cancelled, …)'),
    completedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'ConnectSession' });

export const ReturnUrlsSchema = z
  .object({
    urls: z
      .array(z.string().trim().max(2048))
      .max(MAX_RETURN_URLS)
      .describe(
        'origin plus optional path prefix, e.g. https://app.example.com/integrations; a session return URL must have the same origin and a path at or below it',
      ),
  })
  .strict()
  .meta({ id: 'ConnectReturnUrls' });

// ---- the page's API (Authorization: Bearer <session token>) ----------------------------------------

const FormFieldSchema = z.object({
  name: z.string(),
  label: z.string(),
  help: z.string().nullable(),
  kind: z.enum(['text', 'secret', 'select', 'checkboxes', 'date', 'checkbox']),
  required: z.boolean(),
  default: z.unknown().optional(),
  options: z
    .array(
      z.object({
        value: z.string(),
        label: z.string(),
        help: z.string().optional(),
        fixed: z.boolean().optional().describe('always chosen (a permission the vendor requires)'),
      }),
    )
    .optional(),
  pattern: z.string().optional(),
  maxLength: z.number().optional(),
});

export const VendorFormSchema = z.object({
  id: z.string(),
  name: z.string(),
  installs: z.boolean().describe("linked by installing an OAuth app on the vendor's consent page"),
  setupSteps: z.array(z.string()),
  permissions: z.array(z.object({ scope: z.string(), purpose: z.string(), optional: z.boolean() })),
  grantPermissions: z.string().describe("where in the vendor's console a missing permission is granted"),
  instanceUrl: z.object({
    label: z.string(),
    example: z.string(),
    help: z.string(),
    default: z.string().nullable(),
    fixed: z.boolean().describe('never entered: the vendor has fixed addresses'),
  }),
  credentialFields: z.array(FormFieldSchema),
  settingsFields: z.array(FormFieldSchema),
});

const MissingScopeSchema = z.object({ scope: z.string(), purpose: z.string() });

export const ConnectProgressSchema = z.object({
  outcome: z.enum(CONNECT_OUTCOMES),
  message: z.string().nullable(),
  missingScopes: z.array(MissingScopeSchema),
  nextCheckAt: z.string().nullable(),
});

export const ConnectPageSessionSchema = z
  .object({
    id: z.uuid(),
    mode: z.enum(['link', 'reconnect']),
    expiresAt: z.string(),
    returnTo: z.object({ origin: z.string(), host: z.string() }).nullable(),
    vendors: z.array(VendorFormSchema),
    connection: z
      .object({
        id: z.uuid(),
        vendor: z.string(),
        instanceUrl: z.string(),
        settings: z.record(z.string(), z.unknown()),
        status: ConnectionStatusSchema,
      })
      .nullable(),
    progress: ConnectProgressSchema,
    authorizeUrl: z.string().optional().describe("set when the page must now open the vendor's consent page"),
  })
  .meta({ id: 'ConnectPageSession' });

export const ConnectAttemptSchema = z
  .object({
    vendor: z.string().max(64),
    instanceUrl: z.string().max(2048).optional(),
    settings: z.record(z.string().max(64), z.unknown()).optional(),
    credentials: z
      .record(z.string().max(64), z.string().max(4096))
      .describe(
        'every field on the first attempt; on a retry, a field left out keeps what was entered before',
      ),
  })
  .strict()
  .meta({ id: 'ConnectAttempt' });

export const InstanceUrlCheckSchema = z
  .object({
    vendor: z.string().max(64),
    instanceUrl: z.string().max(2048).optional(),
    settings: z.record(z.string().max(64), z.unknown()).optional(),
  })
  .strict();

export const InstanceUrlCheckedSchema = z.object({
  url: z.string().describe('the instance URL as it will be stored (normalised, or the default)'),
});

export const ConnectInstallSchema = z.object({ authorizeUrl: z.string() });

export const ConnectFinishedSchema = z.object({
  outcome: z.string().describe('the connect outcome, or cancelled when nothing was linked'),
  status: ConnectionStatusSchema.nullable(),
  connectionId: z.uuid().nullable(),
  redirectUrl: z.string().nullable().describe('the return URL with the result added; null without one'),
  targetOrigin: z.string().nullable().describe("the return URL's origin: the only one the page posts to"),
  message: z.object({
    type: z.literal('tether.connect.finished'),
    sessionId: z.uuid(),
    connectionId: z.uuid().nullable(),
    outcome: z.string(),
    status: ConnectionStatusSchema.nullable(),
  }),
});
