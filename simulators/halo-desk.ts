// One HaloITSM instance's service desk, as its API shows it: users (found by ?search= on name or email, active
// ones unless ?includeinactive=true), ticket types, priorities, assets, and the tickets raised with everything
// sent (third_party_id_string included, which ?third_party_id_string= finds).

/** An answer other than 2xx: the route turns it into Halo's error body. */
export class HaloDeskError {
  constructor(
    readonly status: number,
    readonly message: string,
  ) {}
}

type Input = Record<string, unknown>;

const USERS = [
  {
    id: 10,
    name: 'Ada Lovelace',
    emailaddress: 'ada@example.com',
    client_id: 12,
    site_id: 18,
    inactive: false,
  },
  {
    id: 11,
    name: 'Grace Hopper',
    emailaddress: 'grace@example.com',
    client_id: 12,
    site_id: 18,
    inactive: false,
  },
  // Halo keeps users per client: the same address may belong to two of them.
  { id: 12, name: 'Pat Smith', emailaddress: 'pat@example.com', client_id: 12, site_id: 18, inactive: false },
  { id: 13, name: 'Pat Smith', emailaddress: 'pat@example.com', client_id: 14, site_id: 19, inactive: false },
  {
    id: 14,
    name: 'Former Employee',
    emailaddress: 'former@example.com',
    client_id: 12,
    site_id: 18,
    inactive: true,
  },
];
const TICKET_TYPES = [
  { id: 1, name: 'Incident' },
  { id: 3, name: 'Service Request' },
  { id: 4, name: 'Change Request' },
];
const PRIORITIES = [1, 2, 3, 4];
const ASSETS = [
  { id: 501, inventory_number: 'LAPTOP-0001', assettype_name: 'Laptop' },
  { id: 502, inventory_number: 'PHONE-0001', assettype_name: 'Phone' },
];
/** Halo's page size cap for lists. */
const MAX_PAGE_SIZE = 100;

interface Ticket {
  id: number;
  summary: string;
  details: string;
  tickettype_id: number;
  user_id: number | null;
  client_id: number | null;
  site_id: number | null;
  priority_id: number | null;
  status_id: number;
  third_party_id_string: string | null;
  assets: { id: number }[];
  dateoccurred: string;
}

const SEEDED: Ticket = {
  id: 1001,
  summary: 'Printer on fire',
  details: '',
  tickettype_id: 1,
  user_id: 11,
  client_id: 12,
  site_id: 18,
  priority_id: 1,
  status_id: 1,
  third_party_id_string: null,
  assets: [],
  dateoccurred: '2026-01-05T09:00:00Z',
};

export class HaloDesk {
  private tickets = new Map<number, Ticket>();
  private nextId = SEEDED.id + 1;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.tickets = new Map([[SEEDED.id, { ...SEEDED }]]);
    this.nextId = SEEDED.id + 1;
  }

  users(query: Input) {
    const search = typeof query.search === 'string' ? query.search.toLowerCase() : '';
    const includeInactive = query.includeinactive === 'true';
    const users = USERS.filter(
      (u) =>
        (includeInactive || !u.inactive) &&
        (search === '' || u.name.toLowerCase().includes(search) || u.emailaddress.includes(search)),
    );
    return { record_count: users.length, users };
  }

  assets(query: Input) {
    return page(ASSETS, query, 'assets');
  }

  /** `third_party_id_string` (exact), `search` (in summary and details), `page_no`/`page_size`. */
  list(query: Input) {
    let tickets = [...this.tickets.values()];
    if (typeof query.third_party_id_string === 'string') {
      tickets = tickets.filter((t) => t.third_party_id_string === query.third_party_id_string);
    }
    if (typeof query.search === 'string' && query.search !== '') {
      const search = query.search.toLowerCase();
      tickets = tickets.filter(
        (t) => t.summary.toLowerCase().includes(search) || t.details.toLowerCase().includes(search),
      );
    }
    return page(tickets, query, 'tickets');
  }

  ticket(id: string) {
    return this.tickets.get(Number(id)) ?? new HaloDeskError(404, `Ticket ${id} not found`);
  }

  /** A JSON array of tickets, each checked before any is made; one ticket is answered as an object. */
  create(body: unknown) {
    if (!Array.isArray(body) || body.length === 0) {
      return new HaloDeskError(400, 'The request body must be a non-empty array of tickets');
    }
    const tickets: Ticket[] = [];
    for (const item of body) {
      const ticket = this.ticketFrom(item as Input, tickets.length);
      if (ticket instanceof HaloDeskError) return ticket;
      tickets.push(ticket);
    }
    for (const ticket of tickets) this.tickets.set(ticket.id, ticket);
    this.nextId += tickets.length;
    return tickets.length === 1 ? tickets[0]! : tickets;
  }

  private ticketFrom(input: Input, offset: number): Ticket | HaloDeskError {
    if (typeof input !== 'object' || input === null)
      return new HaloDeskError(400, 'A ticket must be an object');
    if (typeof input.summary !== 'string' || input.summary.trim() === '') {
      return new HaloDeskError(400, 'Summary is required');
    }
    const type = TICKET_TYPES.find((t) => t.id === input.tickettype_id);
    if (!type) return new HaloDeskError(400, `Ticket type ${String(input.tickettype_id)} does not exist`);
    const user = input.user_id === undefined ? undefined : USERS.find((u) => u.id === input.user_id);
    if (input.user_id !== undefined && !user) {
      return new HaloDeskError(400, `User ${String(input.user_id)} does not exist`);
    }
    if (input.priority_id !== undefined && !PRIORITIES.includes(input.priority_id as number)) {
      return new HaloDeskError(400, `Priority ${String(input.priority_id)} does not exist`);
    }
    const assets = Array.isArray(input.assets) ? (input.assets as { id?: unknown }[]) : [];
    const unknownAsset = assets.find((a) => !ASSETS.some((known) => known.id === a?.id));
    if (unknownAsset) return new HaloDeskError(400, `Asset ${String(unknownAsset?.id)} does not exist`);
    return {
      id: this.nextId + offset,
      summary: input.summary,
      details: typeof input.details === 'string' ? input.details : '',
      tickettype_id: type.id,
      user_id: user?.id ?? null,
      client_id: user?.client_id ?? null,
      site_id: user?.site_id ?? null,
      priority_id: typeof input.priority_id === 'number' ? input.priority_id : null,
      status_id: 1,
      third_party_id_string:
        typeof input.third_party_id_string === 'string' ? input.third_party_id_string : null,
      assets: assets.map((a) => ({ id: a.id as number })),
      dateoccurred: new Date().toISOString(),
    };
  }
}

/** Halo's list shape: `{page_no, page_size, record_count, <key>: [...]}`. */
function page<T>(items: T[], query: Input, key: string) {
  const size = Math.min(MAX_PAGE_SIZE, Math.max(1, Number(query.page_size) || 50));
  const number = Math.max(1, Number(query.page_no) || 1);
  return {
    page_no: number,
    page_size: size,
    record_count: items.length,
    [key]: items.slice((number - 1) * size, number * size),
  };
}
