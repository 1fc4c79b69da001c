// Tags on connections: a small string-to-string map (end user, organisation, plan…), set when linking or
// copied from a connect session, and filterable with `?tag=key:value` (repeat to require several).
import { z } from 'zod';
import type { Prisma } from '../platform/db';

const MAX_TAGS = 20;
const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const TagsSchema = z
  .record(
    z
      .string()
      .regex(TAG_KEY, 'a tag key is letters, digits, _ . - (max 64), starting with a letter or digit'),
    z.string().max(256),
  )
  .refine((tags) => Object.keys(tags).length <= MAX_TAGS, `at most ${MAX_TAGS} tags`)
  .describe('free-form labels, e.g. {"endUser":"u_42","organisation":"acme"}; filter with ?tag=key:value');

const TagFilter = z
  .string()
  .max(330)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}:/, 'key:value, e.g. organisation:acme')
  .transform((pair) => {
    const colon = pair.indexOf(':');
    return { key: pair.slice(0, colon), value: pair.slice(colon + 1) };
  });

/** `?tag=a:b` once or repeated: every pair must match. */
export const TagFilterSchema = z
  .union([TagFilter, z.array(TagFilter).max(MAX_TAGS)])
  .transform((filters) => (Array.isArray(filters) ? filters : [filters]))
  .optional()
  .describe('key:value; repeat the parameter to require several tags');

export function tagsWhere(
  filters: { key: string; value: string }[] | undefined,
): Prisma.ConnectionWhereInput {
  if (!filters?.length) return {};
  return { AND: filters.map(({ key, value }) => ({ tags: { path: [key], equals: value } })) };
}
