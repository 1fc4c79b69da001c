// A connection's audit trail as the API reads and writes it: newest first, paged both ways by cursors,
// filtered by type. Every read takes a connection already loaded through the tenant-scoped `get`.
import type { AuditEvent, Connection, Db, Prisma } from '../../platform/db';
import { actorColumns, type Actor, type AuditEventType } from '../../domain/audit-events';
import { validationError } from '../errors';
import { decodeEventCursor, encodeEventCursor } from './event-cursor';

export interface TrailQuery {
  /** Events older than this cursor. */
  before?: string;
  /** Events newer than this cursor. */
  after?: string;
  limit: number;
  /** Only these types; all when absent. */
  types?: AuditEventType[];
}

export interface TrailPage {
  /** Newest first. */
  items: AuditEvent[];
  /** `?before=` for the older events; null when there are none. */
  olderCursor: string | null;
  /** `?after=` for events newer than this page (there may be none yet: poll with it). */
  newerCursor: string;
}

export interface NewAuditEvent {
  type: AuditEventType;
  actor: Actor;
  detail?: Prisma.InputJsonObject;
  /** Unique: a second event with the same key is not written. */
  dedupeKey?: string;
}

/** How many events a command's answer lists at most. */
const EVENTS_PER_OUTCOME = 20;

export function auditTrailData(db: Db) {
  const of = (connection: Connection) => ({ connectionId: connection.id, tenantId: connection.tenantId });

  return {
    async page(connection: Connection, query: TrailQuery): Promise<TrailPage> {
      const { limit } = query;
      if (query.before !== undefined && query.after !== undefined) {
        throw validationError([{ field: 'querystring.after', message: 'pass before or after, not both' }]);
      }
      const filter = { ...of(connection), ...(query.types ? { type: { in: query.types } } : {}) };
      const cursor = (id: bigint) => encodeEventCursor(connection.id, id);
      const exists = async (where: Prisma.AuditEventWhereInput) =>
        (await db.auditEvent.findFirst({ where: { ...filter, ...where }, select: { id: true } })) !== null;

      if (query.after !== undefined) {
        // The events right after the cursor, read oldest first from it and shown newest first.
        const after = decodeEventCursor(query.after, connection.id, 'after');
        const rows = await db.auditEvent.findMany({
          where: { ...filter, id: { gt: after } },
          orderBy: { id: 'asc' },
          take: limit,
        });
        const items = rows.reverse();
        const oldest = items.at(-1)?.id ?? after + 1n;
        return {
          items,
          olderCursor: (await exists({ id: { lt: oldest } })) ? cursor(oldest) : null,
          newerCursor: cursor(items[0]?.id ?? after),
        };
      }

      const before =
        query.before === undefined ? undefined : decodeEventCursor(query.before, connection.id, 'before');
      const rows = await db.auditEvent.findMany({
        where: { ...filter, ...(before === undefined ? {} : { id: { lt: before } }) },
        orderBy: { id: 'desc' },
        take: limit + 1,
      });
      const items = rows.slice(0, limit);
      const oldest = items.at(-1);
      return {
        items,
        olderCursor: rows.length > limit && oldest ? cursor(oldest.id) : null,
        // Newer than the newest shown; on an empty page, newer than where the page was asked from.
        newerCursor: cursor(items[0]?.id ?? (before === undefined ? 0n : before - 1n)),
      };
    },

    /** Record an event written by the API itself; with a dedupe key, at most once. */
    async record(connection: Connection, event: NewAuditEvent): Promise<void> {
      await db.auditEvent.createMany({
        data: [
          {
            ...of(connection),
            type: event.type,
            ...actorColumns(event.actor),
            detail: event.detail ?? {},
            dedupeKey: event.dedupeKey ?? null,
          },
        ],
        skipDuplicates: true,
      });
    },

    /** The id of the newest event, 0 for none: a command's answer lists what was recorded after it. */
    async lastEventId(connection: Connection): Promise<bigint> {
      const last = await db.auditEvent.findFirst({
        where: of(connection),
        orderBy: { id: 'desc' },
        select: { id: true },
      });
      return last?.id ?? 0n;
    },

    /** What was recorded after `eventId`, oldest first. */
    since(connection: Connection, eventId: bigint): Promise<AuditEvent[]> {
      return db.auditEvent.findMany({
        where: { ...of(connection), id: { gt: eventId } },
        orderBy: { id: 'asc' },
        take: EVENTS_PER_OUTCOME,
      });
    },

    /** The newest event the workflow recorded. */
    latestTransition(connection: Connection): Promise<AuditEvent | null> {
      return db.auditEvent.findFirst({
        where: { ...of(connection), actor: 'workflow' },
        orderBy: { id: 'desc' },
      });
    },

    cursorAt: (connection: Connection, eventId: bigint) => encodeEventCursor(connection.id, eventId),
  };
}

export type AuditTrailData = ReturnType<typeof auditTrailData>;
