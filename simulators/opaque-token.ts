import { randomUUID } from 'node:crypto';

/** A random, unguessable token string; randomUUID draws from a pooled entropy buffer, so it is cheap. */
export function opaqueToken(prefix = ''): string {
  return `${prefix}${randomUUID().replace(/-/g, '')}`;
}
