// InvGate's provisioning operation: submit a request (an "incident" in its API v1), with everything it names
// checked first against the instance, using only the scopes of the catalog's table: category, type,
// priority and location by id or name, customer and creator by email (the `users` list: `users.by` would need
// a scope the table does not ask for), custom fields against the category's fields and list options.
import { z } from 'zod';
import type { OperationAttempt, OperationSpec, VendorContext } from '../vendor-kit/definition';
import { listIn, OperationCalls } from '../vendor-kit/operation-calls';
import { OperationRefused } from '../vendor-kit/operation-error';
import { VendorError } from '../vendor-kit/vendor-error';
import { truncate, type ErrorHooks } from '../vendor-kit/vendor-responses';
import type { OperationResult } from '../domain/jobs';
import { FailureType } from '../domain/failures';

/** InvGate's source "API" (incident.attributes.source), so the desk sees where the request came from. */
const SOURCE_API = 8;

const text = (max: number) => z.string().trim().min(1).max(max);
const ref = (what: string) =>
  z
    .union([z.number().int().positive(), text(256)])
    .describe(`the ${what}: its id, or its name (matched without regard to case)`);
const person = (who: string) =>
  z.object({ email: z.email() }).strict().describe(`${who}, found by email among InvGate's users`);

export const CreateRequestSchema = z
  .object({
    title: text(250),
    description: z.string().trim().max(20_000).optional(),
    category: ref('category'),
    type: ref('request type (e.g. "Service Request")'),
    priority: ref('priority (e.g. "Medium")'),
    location: ref('location').optional(),
    customer: person('who the request is for'),
    creator: person('who raises it (default: the customer)').optional(),
    customFields: z
      .record(text(256), z.union([text(4000), z.array(text(4000)).min(1).max(50)]))
      .refine((fields) => Object.keys(fields).length <= 50, { message: 'at most 50 custom fields' })
      .optional()
      .describe(
        "values by the field's label or uid; a list field takes an option's label or key. Checked against the category's fields",
      ),
  })
  .strict()
  .meta({ id: 'InvGateCreateRequest' });

type CreateRequest = z.infer<typeof CreateRequestSchema>;
type Row = Record<string, unknown>;

/** The operations of the InvGate catalog entry; `vendor` reads InvGate's error bodies. */
export function requestOperations(vendor: ErrorHooks): OperationSpec[] {
  return [
    {
      name: 'create_request',
      summary:
        'Submit a request (title, description, category, type, priority, location, customer and creator by email, custom fields), each checked first',
      input: CreateRequestSchema,
      run: (ctx, token, input: CreateRequest, attempt) =>
        createRequest(new OperationCalls(vendor, ctx, token, apiBase(ctx)), input, attempt),
    },
  ];
}

const apiBase = (ctx: VendorContext) => `${ctx.instanceUrl}/api/v1`;

async function createRequest(
  api: OperationCalls,
  input: CreateRequest,
  attempt: OperationAttempt,
): Promise<OperationResult> {
  const category = await findCategory(api, input.category);
  const type = pick(await api.get('/incident.attributes.type', 'list request types'), input.type, 'type');
  const priority = pick(
    await api.get('/incident.attributes.priority', 'list priorities'),
    input.priority,
    'priority',
  );
  const location =
    input.location === undefined
      ? undefined
      : pick(await api.get('/locations', 'list locations'), input.location, 'location');
  const users = listIn(await api.get('/users', 'list users'));
  const customer = userByEmail(users, input.customer.email);
  const creator = input.creator ? userByEmail(users, input.creator.email) : customer;
  const fields = await customFieldValues(api, category, input.customFields ?? {});

  let requestId = attempt.madeEarlier;
  if (requestId === null) {
    if (attempt.resumed) {
      throw new OperationRefused(
        'vendor_outcome_unknown',
        `an earlier attempt sent this request and its answer was lost; InvGate offers no way to look requests up with this connection's scopes, so it is not sent again: search InvGate for ${attempt.reference}, and start a new job if it is not there`,
      );
    }
    await attempt.markSent();
    const description = [input.description, `Tether reference: ${attempt.reference}`]
      .filter(Boolean)
      .join('\n\n');
    const created = (await whileNotMade(attempt, () =>
      api.post(
        '/incident',
        {
          title: input.title,
          description,
          category_id: category.id,
          type_id: type.id,
          priority_id: priority.id,
          customer_id: customer.id,
          creator_id: creator.id,
          source_id: SOURCE_API,
          ...(location ? { location_id: location.id } : {}),
        },
        'create the request',
      ),
    )) as { request_id?: unknown } | null;
    if (typeof created?.request_id !== 'number' && typeof created?.request_id !== 'string') {
      throw new VendorError(
        FailureType.VendorUnavailable,
        'InvGate answered the request without its request_id',
      );
    }
    requestId = String(created.request_id);
    await attempt.recordMade(requestId);
  }
  // Each POST creates or overwrites the field's values, so a retry after a crash sets them again safely.
  for (const field of fields) {
    await api.post(
      '/incident.custom_field',
      {
        request_id: Number(requestId),
        author_id: creator.id,
        custom_field_uid: field.uid,
        values: field.values,
      },
      `set custom field ${field.label}`,
    );
  }
  return {
    vendorId: requestId,
    ...(attempt.madeEarlier ? { adopted: true } : {}),
    detail: { categoryId: category.id, customFields: fields.map((f) => f.uid) },
  };
}

/**
 * Sends the create; when the answer says nothing was made (429, 502–504, a refusal) the job may send it again,
 * so the earlier "sent" mark is lifted. A 500, a timeout or a lost connection leave it: the outcome is unknown.
 */
async function whileNotMade<T>(attempt: OperationAttempt, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    const status = err instanceof VendorError || err instanceof OperationRefused ? err.httpStatus : undefined;
    if (status !== undefined && (status === 429 || (status >= 400 && status < 500) || status >= 502)) {
      await attempt.markNotSent();
    }
    throw err;
  }
}

interface Entry {
  id: number;
  name: string;
}

async function findCategory(api: OperationCalls, wanted: number | string): Promise<Entry> {
  const query =
    typeof wanted === 'number' ? `?id=${wanted}` : `?search=${encodeURIComponent(wanted)}&page_size=500`;
  return pick(await api.get(`/categories${query}`, 'look up the category'), wanted, 'category');
}

/** The entry with that id, or the one named so; a clear refusal when there is none, or more than one. */
function pick(body: unknown, wanted: number | string, what: string): Entry {
  const entries = listIn(body)
    .filter((e) => typeof e.id === 'number' && typeof e.name === 'string')
    .map((e) => ({ id: e.id as number, name: truncate(e.name as string, 256) }));
  const matches =
    typeof wanted === 'number'
      ? entries.filter((e) => e.id === wanted)
      : entries.filter((e) => e.name.toLowerCase() === wanted.toLowerCase());
  if (matches.length === 1) return matches[0]!;
  const label = typeof wanted === 'number' ? `id ${wanted}` : `"${wanted}"`;
  if (matches.length > 1) {
    throw new OperationRefused(
      'invalid_attribute',
      `InvGate has ${matches.length} ${what === 'category' ? 'categories' : `${what}s`} named ${label} (ids ${someOf(matches.map((m) => String(m.id)))}): give the id`,
    );
  }
  const known = what === 'category' ? '' : ` (known: ${someOf(entries.map((e) => `${e.name} = ${e.id}`))})`;
  throw new OperationRefused('invalid_attribute', `InvGate has no ${what} ${label}${known}`);
}

function userByEmail(users: Row[], email: string): { id: number } {
  const user = users.find(
    (u) => typeof u.email === 'string' && u.email.toLowerCase() === email.toLowerCase(),
  );
  if (!user || typeof user.id !== 'number') {
    throw new OperationRefused('not_found', `InvGate has no enabled user with email ${email}`);
  }
  return { id: user.id };
}

interface FieldValue {
  uid: number;
  label: string;
  values: string[];
}

/**
 * The values to set, checked: each named field must be one of the category's, a list field's value one of its
 * options (sent as the option's key), and every required field of the category given.
 */
async function customFieldValues(
  api: OperationCalls,
  category: Entry,
  given: Record<string, string | string[]>,
): Promise<FieldValue[]> {
  const ofCategory = new Set(
    listIn(
      await api.get(`/cf.fields.by.category?category_id=${category.id}`, "list the category's custom fields"),
    ).map((f) => Number(f.uid)),
  );
  const fields = listIn(await api.get('/cf.fields.all', 'list custom fields')).filter((f) =>
    ofCategory.has(Number(f.uid)),
  );
  const labelOf = (f: Row) => truncate(String(f.label ?? f.uid), 80);
  const missing = fields.filter(
    (f) => f.is_required === true && !Object.keys(given).some((key) => matchesField(f, key)),
  );
  if (missing.length > 0) {
    throw new OperationRefused(
      'invalid_attribute',
      `category "${category.name}" requires custom field ${someOf(missing.map((f) => `"${labelOf(f)}"`))}`,
    );
  }
  if (Object.keys(given).length === 0) return [];
  const types = listIn(await api.get('/cf.fields.types', 'list custom field types'));
  const listTypes = new Set(types.filter((t) => /list/i.test(String(t.name))).map((t) => Number(t.id)));
  const values: FieldValue[] = [];
  for (const [key, value] of Object.entries(given)) {
    const field = fields.find((f) => matchesField(f, key));
    if (!field) {
      throw new OperationRefused(
        'invalid_attribute',
        `custom field "${key}" is not a field of category "${category.name}"${
          fields.length
            ? ` (its fields: ${fields.map((f) => `"${labelOf(f)}"`).join(', ')})`
            : ' (it has none)'
        }`,
      );
    }
    const uid = Number(field.uid);
    let list = Array.isArray(value) ? value : [value];
    if (listTypes.has(Number(field.type))) {
      const options = optionsIn(
        await api.get(
          `/cf.field.options.list?uid=${uid}`,
          `list the options of custom field ${labelOf(field)}`,
        ),
      );
      list = list.map((v) => {
        const option = options.find((o) => o.key === v || o.label.toLowerCase() === v.toLowerCase());
        if (!option) {
          throw new OperationRefused(
            'invalid_attribute',
            `"${v}" is not an option of custom field "${labelOf(field)}" (options: ${someOf(options.map((o) => `"${o.label}"`))})`,
          );
        }
        return option.key;
      });
    }
    values.push({ uid, label: labelOf(field), values: list });
  }
  return values.sort((a, b) => a.uid - b.uid);
}

/** The first few of a list, each cut short: messages name what exists without growing with the vendor's data. */
function someOf(items: string[]): string {
  const shown = items.slice(0, 12).map((item) => truncate(item, 80));
  return items.length > shown.length ? `${shown.join(', ')}, … (${items.length} in all)` : shown.join(', ');
}

function matchesField(field: Row, key: string): boolean {
  return (
    String(field.uid) === key ||
    (typeof field.label === 'string' && field.label.toLowerCase() === key.toLowerCase())
  );
}

/** A list field's options: InvGate's key → label object, or a list of {id|key, value|name|label}. */
function optionsIn(body: unknown): { key: string; label: string }[] {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    return Object.entries(body as Row).map(([key, label]) => ({ key, label: String(label) }));
  }
  return listIn(body).map((o) => ({
    key: String(o.key ?? o.id),
    label: String(o.value ?? o.label ?? o.name),
  }));
}
