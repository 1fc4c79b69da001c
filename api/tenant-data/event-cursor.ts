// Audit trail cursors: opaque to clients, they hold the id of an event and the connection whose trail
// it came from. Ids only grow, so a page continues strictly before (older) or after (newer) one,
// whatever was recorded since.
import { z } from 'zod';
import { validationError } from '../errors';

const CursorSchema = z.tuple([z.uuid(), z.string().regex(/^\d{1,19}$/)]);

export function encodeEventCursor(connectionId: string, eventId: bigint): string {
  return Buffer.from(JSON.stringify([connectionId, eventId.toString()])).toString('base64url');
}

/** The event id a cursor points at; 400 naming the parameter for anything this trail did not issue. */
export function decodeEventCursor(
  cursor: string,
  connectionId: string,
  parameter: 'before' | 'after',
): bigint {
  const parsed = CursorSchema.safeParse(parseJson(Buffer.from(cursor, 'base64url').toString('utf8')));
  if (!parsed.success || parsed.data[0] !== connectionId) {
    throw validationError([
      {
        field: `querystring.${parameter}`,
        message: "not a cursor of this connection's trail: pass olderCursor or newerCursor of a page",
      },
    ]);
  }
  return BigInt(parsed.data[1]);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
