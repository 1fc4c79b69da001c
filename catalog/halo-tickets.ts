// HaloITSM's provisioning operation: raise a ticket (`POST /api/tickets`, a JSON array of one ticket) for a user
// given by id or found by email, with its ticket type, priority and assets. Exactly once: the ticket carries the
// job's reference in `third_party_id_string`; a retry after a lost answer looks the reference up with that
// filter of `GET /api/tickets` and adopts the ticket it finds instead of raising a second one.
import { z } from 'zod';
import type { OperationAttempt, OperationSpec, VendorContext } from '../vendor-kit/definition';
import { listIn, OperationCalls } from '../vendor-kit/operation-calls';
import { OperationRefused } from '../vendor-kit/operation-error';
import { VendorError } from '../vendor-kit/vendor-error';
import type { ErrorHooks } from '../vendor-kit/vendor-responses';
import { answerString } from '../vendor-kit/answer-fields';
import type { OperationResult } from '../domain/jobs';
import { FailureType } from '../domain/failures';

/** The optional scope an email lookup of the ticket's user needs (Halo's users are "customers" data). */
export const USER_LOOKUP_SCOPE = 'read:customers';
/** Tickets a reference lookup reads: one is expected; an instance that ignores the filter answers a page of others. */
const LOOKUP_PAGE_SIZE = 10;

const id = z.number().int().positive();

export const CreateTicketSchema = z
  .object({
    summary: z.string().trim().min(1).max(250),
    details: z.string().trim().max(20_000).optional(),
    ticketTypeId: id.describe("Halo's ticket type (tickettype_id), e.g. your Service Request type"),
    user: z
      .union([
        z.object({ id: id.describe("Halo's user id") }).strict(),
        z
          .object({ email: z.email() })
          .strict()
          .describe(`found among Halo's active users (needs the optional scope ${USER_LOOKUP_SCOPE})`),
      ])
      .describe('who the ticket is for'),
    priorityId: id.optional().describe("Halo's priority (priority_id); default: the ticket type's"),
    assets: z
      .array(z.object({ id: id.describe("Halo's asset id") }).strict())
      .min(1)
      .max(20)
      .optional()
      .describe("the user's devices the ticket is about"),
  })
  .strict()
  .meta({ id: 'HaloCreateTicket' });

type CreateTicket = z.infer<typeof CreateTicketSchema>;

/** The operations of the HaloITSM catalog entry; `vendor` reads Halo's error bodies. */
export function ticketOperations(vendor: ErrorHooks): OperationSpec[] {
  return [
    {
      name: 'create_ticket',
      summary:
        'Raise a ticket (summary, details, ticket type, user by id or email, priority, assets); a retry adopts the ticket an earlier attempt raised',
      input: CreateTicketSchema,
      scopes: (input: CreateTicket) => ('email' in input.user ? [USER_LOOKUP_SCOPE] : []),
      run: (ctx, token, input: CreateTicket, attempt) =>
        createTicket(new OperationCalls(vendor, ctx, token, apiBase(ctx)), input, attempt),
    },
  ];
}

const apiBase = (ctx: VendorContext) => `${ctx.instanceUrl}/api`;

async function createTicket(
  api: OperationCalls,
  input: CreateTicket,
  attempt: OperationAttempt,
): Promise<OperationResult> {
  const detail = {
    ticketTypeId: input.ticketTypeId,
    ...(input.assets ? { assets: input.assets.map((a) => a.id) } : {}),
  };
  if (attempt.madeEarlier !== null) return { vendorId: attempt.madeEarlier, adopted: true, detail };
  if (attempt.resumed) {
    const earlier = await ticketWithReference(api, attempt.reference);
    if (earlier !== null) {
      await attempt.recordMade(earlier);
      return { vendorId: earlier, adopted: true, detail };
    }
  }
  const userId = 'id' in input.user ? input.user.id : await userByEmail(api, input.user.email);
  await attempt.markSent();
  const answer = await api.post(
    '/tickets',
    [
      {
        summary: input.summary,
        details: [input.details, `Tether reference: ${attempt.reference}`].filter(Boolean).join('\n\n'),
        tickettype_id: input.ticketTypeId,
        user_id: userId,
        third_party_id_string: attempt.reference,
        ...(input.priorityId !== undefined ? { priority_id: input.priorityId } : {}),
        ...(input.assets ? { assets: input.assets.map((a) => ({ id: a.id })) } : {}),
      },
    ],
    'raise the ticket',
  );
  // One ticket posted: Halo answers it, as an object (or a list of one).
  const ticket = listIn(Array.isArray(answer) ? answer : [answer])[0];
  const ticketId = ticket ? idOf(ticket.id, api.host) : null;
  if (ticketId === null) {
    throw new VendorError(
      FailureType.VendorUnavailable,
      `${api.host} answered the new ticket without its id`,
    );
  }
  await attempt.recordMade(ticketId);
  return { vendorId: ticketId, detail };
}

/**
 * The ticket an earlier attempt raised, by the reference it carries. Each ticket's own field is compared: an
 * instance that ignored the filter would answer unrelated tickets, and none of them may be adopted.
 */
async function ticketWithReference(api: OperationCalls, reference: string): Promise<string | null> {
  const body = await api.get(
    `/tickets?third_party_id_string=${encodeURIComponent(reference)}&page_size=${LOOKUP_PAGE_SIZE}`,
    'look for the ticket an earlier attempt raised',
  );
  const match = listIn(body, 'tickets').find((t) => t.third_party_id_string === reference);
  return match ? idOf(match.id, api.host) : null;
}

/** The one active user with this email (Halo's search also matches names and parts of addresses). */
async function userByEmail(api: OperationCalls, email: string): Promise<number> {
  const body = await api.get(`/users?search=${encodeURIComponent(email)}`, 'look up the user by email');
  const wanted = email.toLowerCase();
  const matches = listIn(body, 'users').filter(
    (u) =>
      typeof u.emailaddress === 'string' &&
      u.emailaddress.toLowerCase() === wanted &&
      typeof u.id === 'number',
  );
  if (matches.length === 0) {
    throw new OperationRefused('not_found', `HaloITSM has no active user with email ${email}`);
  }
  if (matches.length > 1) {
    const ids = matches.slice(0, 10).map((u) => String(u.id));
    throw new OperationRefused(
      'invalid_attribute',
      `HaloITSM has ${matches.length} users with email ${email} (ids ${ids.join(', ')}): give user.id`,
    );
  }
  return matches[0]!.id as number;
}

/** A Halo id as tether keeps it: a number, or a string within the id limit; null otherwise. */
function idOf(value: unknown, host: string): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return answerString(value, 'id', 'ticket id', host);
}
