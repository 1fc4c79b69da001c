// What the control API accepts, validated with zod both over HTTP and for in-process callers.
import { z } from 'zod';

export const faultSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('status'),
    /** 2xx with a `body`: an answer the vendor never gives on its own (a discovery pointing elsewhere). */
    status: z.number().int().min(200).max(599),
    retryAfterSeconds: z.number().int().min(0).optional(),
    /** Replaces the vendor's usual error body for this status. */
    body: z.unknown().optional(),
  }),
  z.object({ kind: z.literal('delay'), ms: z.number().int().min(0).max(600_000) }),
  /** The vendor does the work at once and answers only after `ms`: a caller lost meanwhile never hears of it. */
  z.object({ kind: z.literal('delay_answer'), ms: z.number().int().min(0).max(600_000) }),
  z.object({ kind: z.literal('malformed') }),
  /** HTTP 200 with an HTML sign-in page: what a wrong URL (a website, an SSO proxy) answers. */
  z.object({ kind: z.literal('html') }),
  z.object({ kind: z.literal('revoke_tokens') }),
  z.object({ kind: z.literal('drop_scopes'), scopes: z.array(z.string().min(1)).min(1) }),
  /** The answer body leaves in pieces of chunkBytes every intervalMs: a slow vendor or link. */
  z.object({
    kind: z.literal('trickle'),
    chunkBytes: z.number().int().min(1).max(65_536),
    intervalMs: z.number().int().min(1).max(10_000),
  }),
]);

export const addFaultSchema = z.object({
  vendor: z.string().min(1),
  /** A client_id, a static token, or '*' for every caller. */
  match: z.string().min(1).default('*'),
  fault: faultSchema,
  /** 'token': authorization-server endpoints (token, revoke, authorize, discovery); 'api': everything else. */
  scope: z.enum(['token', 'api', 'all']).default('all'),
  /** Only requests to this endpoint, as stats name it (`POST /api/v1/incident`: method and route). */
  endpoint: z.string().min(1).optional(),
  /** The fault removes itself after firing this many times. */
  times: z.number().int().positive().optional(),
});

const placeSchema = z.object({ id: z.string().min(1), name: z.string() });

/**
 * Where an OAuth install lands: the admin's choice on the consent page, answered by the token exchange in
 * Slack's words (oauth.v2.access: `is_enterprise_install`, `enterprise`, `team`). Null: the vendor's default.
 */
export const installTargetSchema = z.object({
  vendor: z.string().min(1),
  /** A client_id, or '*' for every client without a target of its own. */
  match: z.string().min(1).default('*'),
  target: z
    .object({
      isEnterpriseInstall: z.boolean(),
      enterprise: placeSchema.nullable(),
      team: placeSchema.nullable(),
    })
    .nullable(),
});

export const revokeSchema = z.object({ vendor: z.string().min(1), match: z.string().min(1).default('*') });

export const requestsQuerySchema = z.object({ vendor: z.string().min(1) });

export const statsQuerySchema = z.object({
  vendor: z.string().min(1).optional(),
  match: z.string().min(1).optional(),
});

export type Fault = z.infer<typeof faultSchema>;
export type InstallTarget = NonNullable<z.output<typeof installTargetSchema>['target']>;
export type SetInstallTargetInput = z.input<typeof installTargetSchema>;
export type FaultScope = z.infer<typeof addFaultSchema>['scope'];
/** What callers pass (defaults optional). */
export type AddFaultInput = z.input<typeof addFaultSchema>;
export type AddFault = z.output<typeof addFaultSchema>;

/** A control call with a bad field; the HTTP layer turns it into 400 naming the field. */
export class ControlInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'ControlInputError';
  }
}

export function parseControlInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
  throw new ControlInputError(field, issue?.message ?? 'invalid');
}
