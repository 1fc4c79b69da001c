// One InvGate instance's service desk, as its API v1 shows it: categories, request types, priorities,
// locations, users, custom fields (per category, list options) and the requests (incidents) made. A missing
// or invalid parameter is HTTP 428 with {"status":"ERROR","error":…}, as InvGate answers it.

/** An answer other than 200: the route turns it into InvGate's error body. */
export class DeskError {
  constructor(
    readonly status: number,
    readonly message: string,
  ) {}
}

type Input = Record<string, unknown>;
interface Named {
  id: number;
  name: string;
}

const CATEGORIES = [
  { id: 1, name: 'Hardware', parent_category_id: null },
  { id: 2, name: 'Onboarding', parent_category_id: null },
  { id: 3, name: 'Laptop', parent_category_id: 1 },
  { id: 4, name: 'Access', parent_category_id: 2 },
  { id: 5, name: 'Access', parent_category_id: 1 },
];
export const TYPES: Named[] = [
  { id: 1, name: 'Incident' },
  { id: 2, name: 'Service Request' },
  { id: 3, name: 'Question' },
  { id: 4, name: 'Problem' },
  { id: 5, name: 'Change' },
  { id: 6, name: 'Major Incident' },
];
export const PRIORITIES: Named[] = [
  { id: 1, name: 'Low' },
  { id: 2, name: 'Medium' },
  { id: 3, name: 'High' },
  { id: 4, name: 'Urgent' },
  { id: 5, name: 'Critical' },
];
export const LOCATIONS = [
  { id: 1, name: 'Head office', parent_id: null, total: 2 },
  { id: 2, name: 'Remote', parent_id: null, total: 1 },
];
export const FIELD_TYPES: Named[] = [
  { id: 1, name: 'Text' },
  { id: 2, name: 'List' },
  { id: 3, name: 'Date' },
];
export const CUSTOM_FIELDS = [
  { uid: 10, label: 'Laptop model', description: '', type: 2, categories: [2], is_required: true },
  { uid: 11, label: 'Start date', description: '', type: 3, categories: [2], is_required: false },
  { uid: 12, label: 'Asset tag', description: '', type: 1, categories: [1, 3], is_required: false },
];
/** Options of the list fields, as cf.field.options.list answers them: key → label. */
const LIST_OPTIONS: Record<number, Record<string, string>> = {
  10: { '1': 'MacBook Pro 14', '2': 'ThinkPad X1 Carbon' },
};
const USERS = [
  { id: 1, name: 'API', lastname: 'Agent', email: 'api-agent@example.com', user_type: 1, is_disabled: false },
  { id: 2, name: 'Ada', lastname: 'Lovelace', email: 'ada@example.com', user_type: 2, is_disabled: false },
  { id: 3, name: 'Grace', lastname: 'Hopper', email: 'grace@example.com', user_type: 2, is_disabled: false },
  {
    id: 4,
    name: 'Former',
    lastname: 'Employee',
    email: 'former@example.com',
    user_type: 2,
    is_disabled: true,
  },
];

interface Incident {
  id: number;
  title: string;
  description: string;
  category_id: number;
  type_id: number;
  priority_id: number;
  customer_id: number;
  creator_id: number;
  location_id: number | null;
  source_id: number | null;
  status_id: number;
  created_at: number;
  custom_fields: Record<string, unknown[]>;
}

export class ServiceDesk {
  private incidents = new Map<number, Incident>();
  private nextId = 1;

  reset(): void {
    this.incidents.clear();
    this.nextId = 1;
  }

  /** `id`, `search` (in the name) and `page`/`page_size` (default 20, at most 500), as InvGate pages them. */
  categories(query: Input) {
    let matches = byId(CATEGORIES, query);
    if (matches instanceof DeskError) return matches;
    if (typeof query.search === 'string' && query.search !== '') {
      const search = query.search.toLowerCase();
      matches = matches.filter((c) => c.name.toLowerCase().includes(search));
    }
    const size = Math.min(500, Math.max(1, Number(query.page_size) || 20));
    const page = Math.max(1, Number(query.page) || 1);
    return matches.slice((page - 1) * size, page * size);
  }

  fieldsOf(query: Input) {
    const categoryId = integer(query, 'category_id');
    if (categoryId instanceof DeskError) return categoryId;
    if (!CATEGORIES.some((c) => c.id === categoryId)) return new DeskError(404, 'Category not found');
    return CUSTOM_FIELDS.filter((f) => f.categories.includes(categoryId)).map((f) => ({ uid: f.uid }));
  }

  optionsOf(query: Input) {
    const uid = integer(query, 'uid');
    if (uid instanceof DeskError) return uid;
    const field = CUSTOM_FIELDS.find((f) => f.uid === uid);
    if (!field) return new DeskError(404, 'Custom field not found');
    return LIST_OPTIONS[uid] ?? new DeskError(428, `Custom field ${uid} is not a list`);
  }

  /** Enabled users unless `include_disabled`. */
  users(query: Input) {
    const includeDisabled = query.include_disabled === 'true' || query.include_disabled === '1';
    return USERS.filter((u) => includeDisabled || !u.is_disabled);
  }

  incident(query: Input) {
    const id = integer(query, 'id');
    if (id instanceof DeskError) return id;
    return this.incidents.get(id) ?? new DeskError(404, 'Request not found');
  }

  createIncident(body: Input) {
    const title = body.title;
    if (typeof title !== 'string' || title.trim() === '') {
      return new DeskError(428, 'The parameter title is required');
    }
    const ids: Record<string, number> = {};
    for (const [name, known] of [
      ['category_id', CATEGORIES],
      ['type_id', TYPES],
      ['priority_id', PRIORITIES],
      ['customer_id', USERS],
      ['creator_id', USERS],
    ] as const) {
      const id = integer(body, name);
      if (id instanceof DeskError) return id;
      if (!known.some((k) => k.id === id)) return new DeskError(428, `The ${name} ${id} is invalid`);
      ids[name] = id;
    }
    let locationId: number | null = null;
    if (body.location_id !== undefined) {
      const id = integer(body, 'location_id');
      if (id instanceof DeskError) return id;
      if (!LOCATIONS.some((l) => l.id === id)) return new DeskError(428, `The location_id ${id} is invalid`);
      locationId = id;
    }
    const incident: Incident = {
      id: this.nextId++,
      title,
      description: typeof body.description === 'string' ? body.description : '',
      category_id: ids.category_id!,
      type_id: ids.type_id!,
      priority_id: ids.priority_id!,
      customer_id: ids.customer_id!,
      creator_id: ids.creator_id!,
      location_id: locationId,
      source_id: body.source_id === undefined ? null : Number(body.source_id),
      status_id: 1,
      created_at: Math.floor(Date.now() / 1000),
      custom_fields: {},
    };
    this.incidents.set(incident.id, incident);
    return { status: 'OK', info: 'The request was created', request_id: incident.id };
  }

  /** Creates or overwrites one custom field's values on a request (author_id and values[] required). */
  setCustomField(body: Input) {
    const requestId = integer(body, 'request_id');
    if (requestId instanceof DeskError) return requestId;
    const authorId = integer(body, 'author_id');
    if (authorId instanceof DeskError) return authorId;
    const uid = integer(body, 'custom_field_uid');
    if (uid instanceof DeskError) return uid;
    const incident = this.incidents.get(requestId);
    if (!incident) return new DeskError(404, 'Request not found');
    const field = CUSTOM_FIELDS.find((f) => f.uid === uid);
    if (!field || !field.categories.includes(incident.category_id)) {
      return new DeskError(428, `The custom field ${uid} does not belong to the request's category`);
    }
    const values = Array.isArray(body.values) ? body.values : body['values[]'];
    const list = Array.isArray(values) ? values : values === undefined ? [] : [values];
    if (list.length === 0) return new DeskError(428, 'The parameter values is required');
    const options = LIST_OPTIONS[uid];
    const invalid = options && list.find((v) => !(String(v) in options));
    if (invalid !== undefined && invalid !== false) {
      return new DeskError(428, `The value ${String(invalid)} is not an option of custom field ${uid}`);
    }
    incident.custom_fields[String(uid)] = list;
    return { status: 'OK', info: 'The custom field was set' };
  }
}

/** All entries, or the one with `?id=` (InvGate answers a list either way). */
export function byId<T extends { id: number }>(entries: readonly T[], query: Input): T[] | DeskError {
  if (query.id === undefined) return [...entries];
  const id = integer(query, 'id');
  if (id instanceof DeskError) return id;
  return entries.filter((e) => e.id === id);
}

function integer(input: Input, name: string): number | DeskError {
  const value = input[name];
  if (value === undefined || value === '') return new DeskError(428, `The parameter ${name} is required`);
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n)) return new DeskError(428, `The type passed for ${name} is invalid`);
  return n;
}
