// SCIM 2.0 (RFC 7643/7644) user provisioning: the operations every SCIM vendor of the catalog offers, built
// from a few facts the vendor's catalog entry gives (where its SCIM base is, whether it takes PATCH).
// Every call goes through the connection's VendorHttp (URL policy, timeouts, size cap). Permanent refusals
// become OperationRefused with a reason a person can act on; 429, 5xx and network failures VendorErrors
// that the job retries.
import { z } from 'zod';
import { FailureType } from '../domain/failures';
import type { OperationResult } from '../domain/jobs';
import type { OperationAttempt, OperationSpec, VendorContext } from './definition';
import { OperationRefused, refusalReason } from './operation-error';
import { parseRetryAfter, VendorError } from './vendor-error';
import type { VendorResponse } from './vendor-http';
import { safeJson, truncate } from './vendor-responses';
import { answerString, answerWords } from './answer-fields';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCIM_JSON = 'application/scim+json';
/** Users a lookup asks for (`count`): a vendor answering more has the rest ignored. */
const FIND_COUNT = 10;

export interface ScimVendor {
  /** The SCIM base URL, without trailing slash (…/scim/v2). */
  baseUrl(ctx: VendorContext): string;
  /** Whether the vendor takes PATCH (RFC 7644 §3.5.2); otherwise updates read the user and PUT it whole. */
  patch: boolean;
}

const text = (max: number) => z.string().trim().min(1).max(max);

const EmailSchema = z
  .object({
    value: z.email(),
    type: z.string().max(64).optional().describe('e.g. work'),
    primary: z.boolean().optional(),
  })
  .strict();

/** The attributes a job may set, as SCIM names them (department from the enterprise extension). */
const AttributesSchema = z.object({
  name: z
    .object({ givenName: text(256).optional(), familyName: text(256).optional() })
    .strict()
    .optional(),
  displayName: text(256).optional(),
  emails: z.array(EmailSchema).min(1).max(10).optional(),
  title: text(256).optional(),
  department: text(256).optional(),
});

const UserRefSchema = z
  .union([
    z.object({ id: text(256).describe("the vendor's user id") }).strict(),
    z.object({ userName: text(256) }).strict(),
    z.object({ externalId: text(256) }).strict(),
  ])
  .describe("which user: the vendor's id, or a userName or externalId to look up");

export const CreateUserSchema = AttributesSchema.extend({
  userName: text(256),
  externalId: text(256)
    .optional()
    .describe('your id of the person (HR system): a retried create adopts the user that carries it'),
})
  .strict()
  .meta({ id: 'ScimCreateUser' });

export const UpdateUserSchema = AttributesSchema.extend({ user: UserRefSchema })
  .strict()
  .refine((input) => Object.keys(input).length > 1, { message: 'name at least one attribute to change' })
  .meta({ id: 'ScimUpdateUser' });

export const UserTargetSchema = z.object({ user: UserRefSchema }).strict().meta({ id: 'ScimUserTarget' });

export const FindUserSchema = z
  .union([
    z.object({ userName: text(256) }).strict(),
    z.object({ externalId: text(256) }).strict(),
    z.object({ email: z.email() }).strict(),
  ])
  .meta({ id: 'ScimFindUser' });

type CreateUser = z.infer<typeof CreateUserSchema>;
type UpdateUser = z.infer<typeof UpdateUserSchema>;
type UserRef = z.infer<typeof UserRefSchema>;
type Attributes = z.infer<typeof AttributesSchema>;

interface ScimUser {
  id: string;
  userName?: string;
  externalId?: string;
  active?: boolean;
}

/** The five user operations of a SCIM vendor. */
export function scimUserOperations(vendor: ScimVendor): OperationSpec[] {
  const client = (ctx: VendorContext, token: string) => new ScimClient(vendor, ctx, token);
  return [
    {
      name: 'create_user',
      summary:
        'Create a user; a user already carrying the externalId (an earlier attempt of this job) is adopted, not duplicated',
      input: CreateUserSchema,
      run: (ctx, token, input: CreateUser, attempt) => client(ctx, token).create(input, attempt),
    },
    {
      name: 'update_user',
      summary: 'Change attributes of a user (name, emails, title, department, displayName)',
      input: UpdateUserSchema,
      run: async (ctx, token, input: UpdateUser) => {
        const scim = client(ctx, token);
        const { user, ...attributes } = input;
        return summary(await scim.change(await scim.resolve(user), scimAttributes(attributes)));
      },
    },
    {
      name: 'deactivate_user',
      summary: 'Deactivate a user (active: false); the account stays, and can be reactivated',
      input: UserTargetSchema,
      run: async (ctx, token, { user }: { user: UserRef }) => {
        const scim = client(ctx, token);
        return summary(await scim.change(await scim.resolve(user), { active: false }));
      },
    },
    {
      name: 'reactivate_user',
      summary: 'Reactivate a deactivated user (active: true)',
      input: UserTargetSchema,
      run: async (ctx, token, { user }: { user: UserRef }) => {
        const scim = client(ctx, token);
        return summary(await scim.change(await scim.resolve(user), { active: true }));
      },
    },
    {
      name: 'find_user',
      summary: 'Find a user by userName, externalId or email (a SCIM filter)',
      input: FindUserSchema,
      run: async (ctx, token, input: z.infer<typeof FindUserSchema>) => {
        const filter =
          'userName' in input
            ? eq('userName', input.userName)
            : 'externalId' in input
              ? eq('externalId', input.externalId)
              : eq('emails.value', input.email);
        const users = await client(ctx, token).find(filter);
        return {
          vendorId: users[0]?.id ?? null,
          detail: { matches: users.map((u) => ({ id: u.id, active: u.active })) },
        };
      },
    },
  ];
}

class ScimClient {
  constructor(
    private readonly vendor: ScimVendor,
    private readonly ctx: VendorContext,
    private readonly token: string,
  ) {}

  async create(input: CreateUser, attempt: OperationAttempt): Promise<OperationResult> {
    const existing = await this.existingFor(input, attempt);
    if (existing) return { ...summary(existing), adopted: true };
    const { userName, externalId, ...attributes } = input;
    await attempt.markSent();
    const res = await this.send('POST', '/Users', {
      schemas: [USER_SCHEMA, ...(input.department ? [ENTERPRISE_SCHEMA] : [])],
      userName,
      ...(externalId ? { externalId } : {}),
      ...scimAttributes(attributes),
      active: true,
    });
    if (res.status === 409) {
      // Created meanwhile by another attempt or caller: adopt it if it is ours, else say who holds the name.
      const raced = await this.existingFor(input, { ...attempt, resumed: true });
      if (raced) return { ...summary(raced), adopted: true };
    }
    return summary(this.user(res, 'create the user'));
  }

  /**
   * The user a create would duplicate, if it is this job's (same externalId, or the same userName after an
   * earlier attempt of this job sent its request); OperationRefused when someone else holds the userName.
   */
  private async existingFor(input: CreateUser, attempt: OperationAttempt): Promise<ScimUser | null> {
    if (input.externalId) {
      const [byExternalId] = await this.find(eq('externalId', input.externalId));
      if (byExternalId) return byExternalId;
    }
    const [byUserName] = await this.find(eq('userName', input.userName));
    if (!byUserName) return null;
    const sameExternalId = (byUserName.externalId ?? null) === (input.externalId ?? null);
    if (attempt.resumed && sameExternalId) return byUserName;
    throw new OperationRefused(
      'uniqueness',
      `a user with userName ${input.userName} already exists (id ${byUserName.id}${
        byUserName.externalId ? `, externalId ${byUserName.externalId}` : ''
      })`,
      409,
    );
  }

  async find(filter: string): Promise<ScimUser[]> {
    const res = await this.send(
      'GET',
      `/Users?filter=${encodeURIComponent(filter)}&startIndex=1&count=${FIND_COUNT}`,
    );
    const body = this.ok(res, 'look up the user') as { Resources?: unknown };
    if (!Array.isArray(body.Resources)) return [];
    return body.Resources.slice(0, FIND_COUNT)
      .map((resource) => this.scimUser(resource))
      .filter((user) => user !== null);
  }

  async resolve(ref: UserRef): Promise<string> {
    if ('id' in ref) return ref.id;
    const [attribute, value] =
      'userName' in ref ? ['userName', ref.userName] : ['externalId', ref.externalId];
    const [user] = await this.find(eq(attribute, value));
    if (!user) throw new OperationRefused('not_found', `no user with ${attribute} ${value}`);
    return user.id;
  }

  async change(id: string, changes: Record<string, unknown>): Promise<ScimUser> {
    const path = `/Users/${encodeURIComponent(id)}`;
    if (this.vendor.patch) {
      const res = await this.send('PATCH', path, {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: 'replace', value: changes }],
      });
      // Some vendors answer 204 without the resource.
      if (res.status === 204) return { id };
      return this.user(res, 'change the user');
    }
    const current = this.ok(await this.send('GET', path), 'read the user') as Record<string, unknown>;
    return this.user(await this.send('PUT', path, { ...current, ...changes }), 'change the user');
  }

  private async send(method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown) {
    return this.ctx.http.send({
      method,
      url: `${this.vendor.baseUrl(this.ctx)}${path}`,
      headers: { authorization: `Bearer ${this.token}`, accept: SCIM_JSON },
      ...(body === undefined ? {} : { jsonBody: JSON.stringify(body), contentType: SCIM_JSON }),
    });
  }

  private user(res: VendorResponse, what: string): ScimUser {
    const user = this.scimUser(this.ok(res, what));
    if (!user) {
      throw new VendorError(
        FailureType.VendorUnavailable,
        `${this.host()} answered ${what} without a user id`,
      );
    }
    return user;
  }

  /** The fields of a user resource tether reads, each within its length limit; null without an id. */
  private scimUser(value: unknown): ScimUser | null {
    if (typeof value !== 'object' || value === null) return null;
    const resource = value as Record<string, unknown>;
    const host = this.host();
    const id = answerString(resource.id, 'id', 'user id', host);
    if (id === null) return null;
    const userName = answerString(resource.userName, 'name', 'userName', host);
    const externalId = answerString(resource.externalId, 'id', 'externalId', host);
    return {
      id,
      ...(userName !== null ? { userName } : {}),
      ...(externalId !== null ? { externalId } : {}),
      ...(typeof resource.active === 'boolean' ? { active: resource.active } : {}),
    };
  }

  /** The parsed 2xx answer; a VendorError (retried) or OperationRefused (not) for anything else. */
  private ok(res: VendorResponse, what: string): Record<string, unknown> {
    const body = safeJson(res.text);
    if (res.status >= 200 && res.status < 300) {
      if (body && typeof body === 'object') return body as Record<string, unknown>;
      throw new VendorError(
        FailureType.VendorUnavailable,
        `${this.host()} answered ${what} with malformed JSON`,
      );
    }
    throw refusal(res, body, `${this.host()} refused to ${what}`);
  }

  private host() {
    return new URL(this.vendor.baseUrl(this.ctx)).host;
  }
}

/** What an error answer means: retry (429, 5xx) or a reason a person acts on. */
function refusal(res: VendorResponse, body: unknown, what: string): Error {
  const scim = (body ?? {}) as { detail?: unknown; scimType?: unknown };
  const detail = typeof scim.detail === 'string' ? `: ${truncate(scim.detail)}` : '';
  const scimType = answerWords(scim.scimType, 64);
  const message = `${what} (HTTP ${res.status}${scimType !== null ? ` ${scimType}` : ''})${detail}`;
  if (res.status === 429) {
    return new VendorError(
      FailureType.RateLimited,
      message,
      parseRetryAfter(res.headers['retry-after']),
      429,
    );
  }
  if (res.status >= 500)
    return new VendorError(FailureType.VendorUnavailable, message, undefined, res.status);
  // SCIM names a uniqueness conflict in scimType, whatever the status (RFC 7644 §3.12).
  const reason = scim.scimType === 'uniqueness' ? 'uniqueness' : refusalReason(res.status);
  return new OperationRefused(reason, message, res.status);
}

/** The job's attributes as SCIM names them (department lives in the enterprise extension). */
function scimAttributes({ department, ...core }: Attributes): Record<string, unknown> {
  return { ...core, ...(department ? { [ENTERPRISE_SCHEMA]: { department } } : {}) };
}

/** Ids and flags only: results travel through workflow history, where a person's attributes do not go. */
function summary(user: ScimUser): OperationResult {
  return { vendorId: user.id, detail: user.active !== undefined ? { active: user.active } : {} };
}

/** A SCIM `eq` filter with the value quoted as RFC 7644 §3.4.2.2 says (JSON string escaping). */
function eq(attribute: string, value: string): string {
  return `${attribute} eq ${JSON.stringify(value)}`;
}
