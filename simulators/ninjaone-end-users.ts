// One NinjaOne account's organizations and end users, as its public API v2 shows them: end users listed whole
// (GET /v2/user/end-users has no filter), created with an email no other end user has, deleted by id.

/** An answer other than 2xx: the route turns it into NinjaOne's error body. */
export class EndUserError {
  constructor(
    readonly status: number,
    readonly message: string,
  ) {}
}

type Input = Record<string, unknown>;

export const ORGANIZATIONS = [
  { id: 1, name: 'Simulated Organization', nodeApprovalMode: 'AUTOMATIC' },
  { id: 2, name: 'Second Organization', nodeApprovalMode: 'MANUAL' },
];

interface EndUser {
  id: number;
  uid: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string | null;
  organizationId: number;
  fullPortalAccess: boolean;
  enabled: boolean;
  administrator: boolean;
  userType: 'END_USER';
  invitationStatus: 'NOT_SENT' | 'PENDING';
}

const SEEDED: Omit<EndUser, 'id' | 'uid'>[] = [
  {
    firstName: 'Grace',
    lastName: 'Hopper',
    email: 'grace@example.com',
    phone: null,
    organizationId: 1,
    fullPortalAccess: false,
    enabled: true,
    administrator: false,
    userType: 'END_USER',
    invitationStatus: 'NOT_SENT',
  },
];

export class EndUserDirectory {
  private users = new Map<number, EndUser>();
  private nextId = 1;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.users.clear();
    this.nextId = 1;
    for (const user of SEEDED) this.add(user);
  }

  list(): EndUser[] {
    return [...this.users.values()];
  }

  /** `firstName`, `lastName`, `email` (unique) and an existing `organizationId` required; `sendInvitation` from the query. */
  create(body: Input, query: Input): EndUser | EndUserError {
    for (const field of ['firstName', 'lastName', 'email'] as const) {
      if (typeof body[field] !== 'string' || body[field].trim() === '') {
        return new EndUserError(400, `${field} is required`);
      }
    }
    const email = (body.email as string).trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) return new EndUserError(400, `${email} is not a valid email`);
    if (this.list().some((u) => u.email.toLowerCase() === email.toLowerCase())) {
      return new EndUserError(409, `A user with email ${email} already exists`);
    }
    if (!ORGANIZATIONS.some((o) => o.id === body.organizationId)) {
      return new EndUserError(400, `Organization ${String(body.organizationId)} not found`);
    }
    return this.add({
      firstName: body.firstName as string,
      lastName: body.lastName as string,
      email,
      phone: typeof body.phone === 'string' ? body.phone : null,
      organizationId: body.organizationId as number,
      fullPortalAccess: body.fullPortalAccess === true,
      enabled: true,
      administrator: false,
      userType: 'END_USER',
      invitationStatus: query.sendInvitation === 'true' ? 'PENDING' : 'NOT_SENT',
    });
  }

  remove(id: string): true | EndUserError {
    if (!this.users.delete(Number(id))) return new EndUserError(404, `End user ${id} not found`);
    return true;
  }

  private add(user: Omit<EndUser, 'id' | 'uid'>): EndUser {
    const id = this.nextId++;
    const made: EndUser = { id, uid: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`, ...user };
    this.users.set(id, made);
    return made;
  }
}
