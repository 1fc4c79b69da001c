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

export function encodeCursor(scope: TenantScope, last: PagePosition): string {
  return Buffer.from(JSON.stringify([scope, last.createdAt.getTime(), last.id])).toString('base64url');
}

/**
 * The position a cursor continues from; 400 naming `cursor` for anything this list did not issue. `ids`:
 * the list's row ids (UUIDs unless said), so a forged cursor never reaches the query with another kind.
 */
export function decodeCursor(
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
export const after = (position: PagePosition) => ({
  createdAt: { lte: position.createdAt },
  OR: [{ createdAt: { lt: position.createdAt } }, { id: { lt: position.id } }],
});
