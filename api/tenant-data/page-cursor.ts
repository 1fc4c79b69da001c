// List cursors: opaque to clients, they hold the (createdAt, id) of a page's last row and the tenant scope
// of the list they came from. The next page starts strictly after that position, whatever happened to the
// row since, and a cursor only continues the list it was issued for.
import { z } from 'zod';
import { validationError } from '../errors';
import type { TenantScope } from './tenant-scope';

export interface PagePosition {
  createdAt: Date;
  id: string;
}

const cursorSchema = (id: z.ZodType<string>) =>
  z.tuple([z.string().nullable(), z.number().int().nonnegative(), id]);
const UUID_CURSOR = cursorSchema(z.uuid());

function encodeCursor(scope: TenantScope, last: PagePosition): string {
  return Buffer.from(JSON.stringify([scope, last.createdAt.getTime(), last.id])).toString('base64url');
}

/**
 * The position a cursor continues from; 400 naming `cursor` for anything this list did not issue. `ids`:
 * the list's row ids (UUIDs unless said), so a forged cursor never reaches the query with another kind.
 */
function decodeCursor(
  cursor: string,
  scope: TenantScope,
  ids: z.ZodType<string> | null = null,
): PagePosition {
  const parsed = (ids ? cursorSchema(ids) : UUID_CURSOR).safeParse(
    parseJson(Buffer.from(cursor, 'base64url').toString('utf8')),
  );
  // One answer for malformed and foreign cursors alike: nothing to learn about other tenants' lists.
  if (!parsed.success || parsed.data[0] !== scope) {
    throw validationError([
      {
        field: 'querystring.cursor',
        message: 'not a cursor of this list: pass nextCursor of the previous page',
      },
    ]);
  }
  return { createdAt: new Date(parsed.data[1]), id: parsed.data[2] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Rows after `position` in the order createdAt desc, id desc: created before it, or in the same
 * millisecond with a lower id. The redundant `createdAt <= …` bounds the scan of the
 * (tenantId, createdAt, id) index.
 */
const after = (position: PagePosition) => ({
  createdAt: { lte: position.createdAt },
  OR: [{ createdAt: { lt: position.createdAt } }, { id: { lt: position.id } }],
});

/** What a newest-first list query adds to its own filter: the rows after the cursor, in page order. */
export interface PageQuery {
  after: ReturnType<typeof after> | Record<string, never>;
  orderBy: [{ createdAt: 'desc' }, { id: 'desc' }];
  take: number;
}

/**
 * One page of a list, newest first: `findMany` runs the list's own query with `query.after` in its where,
 * one row more than the page holds, so whether a next page exists is known without counting.
 * `listScope` is what a cursor belongs to (the tenant scope, or the one parent the list is of).
 */
export async function newestFirstPage<T extends PagePosition>(
  listScope: TenantScope,
  { limit, cursor }: { limit: number; cursor?: string },
  findMany: (query: PageQuery) => Promise<T[]>,
  ids: z.ZodType<string> | null = null,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const position = cursor === undefined ? null : decodeCursor(cursor, listScope, ids);
  const rows = await findMany({
    after: position ? after(position) : {},
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit + 1,
  });
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(listScope, last) : null };
}
