// NinjaOne's provisioning operations: its end users, the people of a customer organization (portal access, the
// devices they use), created and deleted through its public API v2. NinjaOne has no SCIM: the joiner is
// `POST /v2/user/end-users`, the leaver `DELETE /v2/user/end-user/{id}`, and both find the person first in
// `GET /v2/user/end-users` by email, which NinjaOne keeps unique: a retried create adopts the end user an earlier
// attempt of the job made, and a retried delete finds it gone.
import { z } from 'zod';
import type { OperationAttempt, OperationSpec, VendorContext } from '../vendor-kit/definition';
import { listIn, OperationCalls } from '../vendor-kit/operation-calls';
import { OperationRefused } from '../vendor-kit/operation-error';
import { VendorError } from '../vendor-kit/vendor-error';
import { answerString } from '../vendor-kit/answer-fields';
import type { ErrorHooks } from '../vendor-kit/vendor-responses';
import type { OperationResult } from '../domain/jobs';
import { FailureType } from '../domain/failures';

/** Creating and deleting end users needs it; reading them only the connection's `monitoring`. */
const WRITE_SCOPE = 'management';

const text = (max: number) => z.string().trim().min(1).max(max);
const id = z.number().int().positive();

export const CreateEndUserSchema = z
  .object({
    firstName: text(128),
    lastName: text(128),
    email: z.email().describe('unique in NinjaOne: a retried create adopts the end user that has it'),
    phone: text(64).optional(),
    organizationId: id.describe('the NinjaOne organization the person belongs to'),
    fullPortalAccess: z
      .boolean()
      .optional()
      .describe("full access to the end-user portal (NinjaOne's default: no)"),
    sendInvitation: z.boolean().optional().describe('email the person an invitation to the portal'),
  })
  .strict()
  .meta({ id: 'NinjaOneCreateEndUser' });

const EndUserRefSchema = z
  .union([
    z.object({ id: id.describe("NinjaOne's end user id") }).strict(),
    z.object({ email: z.email() }).strict(),
  ])
  .describe("which end user: NinjaOne's id, or the email to look up");

export const EndUserTargetSchema = z
  .object({ user: EndUserRefSchema })
  .strict()
  .meta({ id: 'NinjaOneEndUserTarget' });

export const FindEndUserSchema = z.object({ email: z.email() }).strict().meta({ id: 'NinjaOneFindEndUser' });

type CreateEndUser = z.infer<typeof CreateEndUserSchema>;
type EndUserTarget = z.infer<typeof EndUserTargetSchema>;

interface EndUser {
  id: string;
  organizationId: number | null;
}

/** The operations of the NinjaOne catalog entry; `vendor` reads NinjaOne's error bodies. */
export function endUserOperations(vendor: ErrorHooks): OperationSpec[] {
  const calls = (ctx: VendorContext, token: string) =>
    new OperationCalls(vendor, ctx, token, `${ctx.instanceUrl}/v2`);
  return [
    {
      name: 'create_end_user',
      summary:
        "Create an end user of an organization (the joiner); one with the email already made by this job's earlier attempt is adopted",
      input: CreateEndUserSchema,
      scopes: () => [WRITE_SCOPE],
      run: (ctx, token, input: CreateEndUser, attempt) => createEndUser(calls(ctx, token), input, attempt),
    },
    {
      name: 'delete_end_user',
      summary: 'Delete an end user, by id or email (the leaver: NinjaOne documents no way to disable one)',
      input: EndUserTargetSchema,
      scopes: () => [WRITE_SCOPE],
      run: (ctx, token, input: EndUserTarget, attempt) => deleteEndUser(calls(ctx, token), input, attempt),
    },
    {
      name: 'find_end_user',
      summary: 'Find an end user by email',
      input: FindEndUserSchema,
      run: async (ctx, token, input: z.infer<typeof FindEndUserSchema>) => {
        const matches = await endUsersWithEmail(calls(ctx, token), input.email);
        return { vendorId: matches[0]?.id ?? null, detail: { matches } };
      },
    },
  ];
}

async function createEndUser(
  api: OperationCalls,
  input: CreateEndUser,
  attempt: OperationAttempt,
): Promise<OperationResult> {
  const ours = (user: EndUser) => user.organizationId === input.organizationId;
  const [existing] = await endUsersWithEmail(api, input.email);
  if (existing) {
    // Only this job's earlier attempt makes it ours; anyone else's end user is a conflict to resolve by hand.
    if (attempt.resumed && ours(existing)) return { ...summary(existing), adopted: true };
    throw new OperationRefused(
      'uniqueness',
      `NinjaOne already has an end user with email ${input.email} (id ${existing.id}, organization ${existing.organizationId})`,
      409,
    );
  }
  const { sendInvitation, ...endUser } = input;
  await attempt.markSent();
  let created: unknown;
  try {
    created = await api.post(
      `/user/end-users${sendInvitation ? '?sendInvitation=true' : ''}`,
      endUser,
      'create the end user',
    );
  } catch (err) {
    // Made meanwhile (by another attempt of this job, or the same person by someone else): adopt it if it is the same.
    if (!(err instanceof OperationRefused) || err.httpStatus !== 409) throw err;
    const [raced] = await endUsersWithEmail(api, input.email);
    if (raced && ours(raced)) return { ...summary(raced), adopted: true };
    throw err;
  }
  const made = endUserOf(created, api.host);
  if (!made) {
    throw new VendorError(
      FailureType.VendorUnavailable,
      `${api.host} answered the new end user without its id`,
    );
  }
  return summary(made);
}

async function deleteEndUser(
  api: OperationCalls,
  { user }: EndUserTarget,
  attempt: OperationAttempt,
): Promise<OperationResult> {
  // After an earlier attempt sent the delete, an end user no longer there is the one it deleted.
  const gone = (vendorId: string | null) => ({ vendorId, detail: { deleted: true } });
  let target: string;
  if ('id' in user) {
    target = String(user.id);
  } else {
    const [found] = await endUsersWithEmail(api, user.email);
    if (!found) {
      if (attempt.resumed) return gone(attempt.madeEarlier);
      throw new OperationRefused('not_found', `NinjaOne has no end user with email ${user.email}`);
    }
    target = found.id;
  }
  await attempt.recordMade(target);
  await attempt.markSent();
  try {
    await api.delete(`/user/end-user/${encodeURIComponent(target)}`, 'delete the end user');
  } catch (err) {
    if (attempt.resumed && err instanceof OperationRefused && err.httpStatus === 404) return gone(target);
    throw err;
  }
  return gone(target);
}

/** The end users with this email (NinjaOne lists them all; there is no filter), ids and organizations only. */
async function endUsersWithEmail(api: OperationCalls, email: string): Promise<EndUser[]> {
  const wanted = email.toLowerCase();
  return listIn(await api.get('/user/end-users', 'list end users'))
    .filter((u) => typeof u.email === 'string' && u.email.toLowerCase() === wanted)
    .map((u) => endUserOf(u, api.host))
    .filter((u) => u !== null)
    .slice(0, 10);
}

function endUserOf(value: unknown, host: string): EndUser | null {
  if (typeof value !== 'object' || value === null) return null;
  const u = value as Record<string, unknown>;
  const userId =
    typeof u.id === 'number' && Number.isSafeInteger(u.id)
      ? String(u.id)
      : answerString(u.id, 'id', 'end user id', host);
  if (userId === null) return null;
  return { id: userId, organizationId: typeof u.organizationId === 'number' ? u.organizationId : null };
}

/** Ids only: results travel through workflow history, where a person's attributes do not go. */
function summary(user: EndUser): OperationResult {
  return { vendorId: user.id, detail: { organizationId: user.organizationId } };
}
