// An in-memory SCIM user directory, just enough for provisioning tests: create, read, list with a
// `userName eq` filter, PATCH, deactivate. One per vendor tenant.
import { randomUUID } from 'node:crypto';
import { listResponse, scimError, SCIM_USER_SCHEMA, type ScimError } from './scim';

export type ScimUser = Record<string, unknown> & { id: string; userName: string; active: boolean };

/** Attributes a client may set; everything else in a request body is ignored. */
const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const WRITABLE = [
  'userName',
  'externalId',
  'name',
  'displayName',
  'emails',
  'title',
  'active',
  ENTERPRISE_SCHEMA,
];
/** `attribute eq "value"` for the attributes provisioning looks users up by (JSON string escapes allowed). */
const EQ_FILTER = /^(userName|externalId|emails|emails\.value|email)\s+eq\s+("(?:[^"\\]|\\.)*")$/i;
const MAX_PAGE = 100;

export class ScimDirectory {
  private readonly users = new Map<string, ScimUser>();
  private readonly idsByUserName = new Map<string, string>();

  /** @param seed users present after start and after every reset (so `Users?count=1` has a result) */
  constructor(private readonly seed: ReadonlyArray<Omit<ScimUser, 'id' | 'active'>>) {
    this.reset();
  }

  reset(): void {
    this.users.clear();
    this.idsByUserName.clear();
    for (const user of this.seed) this.create({ ...user, active: true });
  }

  get(id: string): ScimUser | undefined {
    return this.users.get(id);
  }

  list(query: { filter?: string; startIndex?: string; count?: string }) {
    const startIndex = Math.max(1, Number(query.startIndex) || 1);
    const count = Math.min(
      MAX_PAGE,
      Math.max(0, query.count === undefined ? MAX_PAGE : Number(query.count) || 0),
    );
    let matching: ScimUser[];
    if (query.filter) {
      const match = EQ_FILTER.exec(query.filter.trim());
      if (!match) {
        return scimError(
          400,
          'Only `userName`, `externalId` and `emails` (or `emails.value`) `eq "..."` filters are supported',
          'invalidFilter',
        );
      }
      const attribute = match[1]!.toLowerCase();
      const value = (JSON.parse(match[2]!) as string).toLowerCase();
      matching = [...this.users.values()].filter((user) => matches(user, attribute, value));
    } else {
      matching = [...this.users.values()];
    }
    return listResponse(matching.slice(startIndex - 1, startIndex - 1 + count), matching.length, startIndex);
  }

  create(body: unknown): ScimUser | ScimError {
    const attributes = writable(body);
    const userName = attributes.userName;
    if (typeof userName !== 'string' || userName.length === 0) {
      return scimError(400, 'userName is required', 'invalidValue');
    }
    if (this.idsByUserName.has(userName.toLowerCase())) {
      return scimError(409, `User ${userName} already exists`, 'uniqueness');
    }
    const now = new Date().toISOString();
    const user: ScimUser = {
      schemas: [SCIM_USER_SCHEMA],
      id: randomUUID(),
      ...attributes,
      userName,
      active: attributes.active === undefined || isTrue(attributes.active),
      meta: { resourceType: 'User', created: now, lastModified: now },
    };
    this.users.set(user.id, user);
    this.idsByUserName.set(userName.toLowerCase(), user.id);
    return user;
  }

  /** RFC 7644 §3.5.2 PATCH with `replace`/`add` of top-level attributes (with or without `path`). */
  patch(id: string, operations: unknown[]): ScimUser | ScimError {
    const user = this.users.get(id);
    if (!user) return scimError(404, `User ${id} not found`);
    const changes: Record<string, unknown> = {};
    for (const operation of operations) {
      const { op, path, value } = (operation ?? {}) as { op?: unknown; path?: unknown; value?: unknown };
      if (typeof op !== 'string' || !['replace', 'add'].includes(op.toLowerCase())) {
        return scimError(400, `Unsupported operation ${String(op)}`, 'invalidSyntax');
      }
      if (typeof path === 'string') Object.assign(changes, writable({ [path]: value }));
      else Object.assign(changes, writable(value));
    }
    return this.update(user, changes);
  }

  deactivate(id: string): ScimUser | ScimError {
    const user = this.users.get(id);
    return user ? this.update(user, { active: false }) : scimError(404, `User ${id} not found`);
  }

  private update(user: ScimUser, changes: Record<string, unknown>): ScimUser | ScimError {
    if (
      typeof changes.userName === 'string' &&
      changes.userName.toLowerCase() !== user.userName.toLowerCase()
    ) {
      if (this.idsByUserName.has(changes.userName.toLowerCase())) {
        return scimError(409, `User ${changes.userName} already exists`, 'uniqueness');
      }
      this.idsByUserName.delete(user.userName.toLowerCase());
      this.idsByUserName.set(changes.userName.toLowerCase(), user.id);
    }
    if ('active' in changes) changes.active = isTrue(changes.active);
    const meta = { ...(user.meta as object), lastModified: new Date().toISOString() };
    Object.assign(user, changes, { meta });
    return user;
  }
}

/** SCIM clients send booleans, and some (Entra ID) send "True"/"False" strings. */
function isTrue(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.toLowerCase() === 'true');
}

function writable(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object') return {};
  const source = body as Record<string, unknown>;
  return Object.fromEntries(WRITABLE.filter((key) => key in source).map((key) => [key, source[key]]));
}

export function isScimError(value: unknown): value is ScimError {
  return typeof value === 'object' && value !== null && 'detail' in value && 'status' in value;
}

/** Case-insensitive, as RFC 7643 makes userName and emails (externalId is case-exact; close enough here). */
function matches(user: ScimUser, attribute: string, value: string): boolean {
  if (attribute === 'username') return user.userName.toLowerCase() === value;
  if (attribute === 'externalid') return String(user.externalId ?? '').toLowerCase() === value;
  const emails = Array.isArray(user.emails) ? (user.emails as { value?: unknown }[]) : [];
  return emails.some((e) => typeof e.value === 'string' && e.value.toLowerCase() === value);
}
