// Limits on what a vendor answer may hold, checked before anything parses, splits, matches or stores it.
// An answer may be up to TETHER_VENDOR_MAX_RESPONSE_BYTES (1 MiB); no field of the ones tether reads needs
// more than a few KiB, and a megabyte where a token or a URL belongs is a broken or hostile vendor. Work on
// such text runs on the worker's main thread, which every activity of every tenant shares.
import { FailureType } from '../domain/failures';
import { VendorError } from './vendor-error';

/** The longest string each kind of answer field may be, in characters. */
export const ANSWER_FIELD_LIMITS = {
  /** Discovered endpoints (Halo's auth_url). */
  url: 2_048,
  /** Access and refresh tokens (JWTs with many claims included). */
  token: 16_384,
  /** Granted-scope lists (`scope`, space- or comma-separated). */
  scopes: 8_192,
  /** Vendor ids: users, tenants, workspaces, organizations. */
  id: 256,
  /** Display names and user names. */
  name: 1_024,
} as const;

export type AnswerFieldKind = keyof typeof ANSWER_FIELD_LIMITS;

/** Arrays and objects nested deeper than this are refused before JSON.parse (it slows to seconds far below 1 MiB). */
export const MAX_ANSWER_DEPTH = 64;

/** Words of the vendor's meant for people (error codes, messages, SCIM types): cut, never refused. */
export const ANSWER_WORDS_LIMIT = 200;

/**
 * A string field of an answer: null when absent or not a string, a VendorError (a malformed answer: the
 * vendor failing, not the customer's input) when longer than its kind allows.
 */
export function answerString(
  value: unknown,
  kind: AnswerFieldKind,
  field: string,
  host: string,
): string | null {
  if (typeof value !== 'string') return null;
  const limit = ANSWER_FIELD_LIMITS[kind];
  if (value.length > limit) {
    throw new VendorError(
      FailureType.VendorUnavailable,
      `${host} answered with a ${field} of ${value.length} characters, more than the ${limit} a ${kind} may have`,
    );
  }
  return value;
}

/** A string the vendor meant for people, cut to `max` characters; null when it is not a string. */
export function answerWords(value: unknown, max = ANSWER_WORDS_LIMIT): string | null {
  if (typeof value !== 'string') return null;
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/**
 * Whether JSON text nests arrays or objects deeper than `max`, read in one pass (brackets inside strings
 * do not count). Malformed text is left to JSON.parse.
 */
export function nestsDeeperThan(text: string, max = MAX_ANSWER_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(text, i);
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
  return false;
}

/** Where the string opened at `start` closes (the text's end if never): its next quote not escaped. */
function stringEnd(text: string, start: number): number {
  let at = start;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
