// One logger configuration for API and worker. Redaction is by key name at any depth, not by luck: every
// object logged is walked before it is written, and a field whose name says secret (code, state, token,
// secret, password, authorization, key, …) is censored wherever it sits. Errors are serialised first, so
// what they carry (a vendor's answer, a request's headers) is walked too.
import pino, { type Logger } from 'pino';

export const REDACTED = '[redacted]';

/** Field names (lower case, without `_` and `-`) censored wherever they appear. */
const SECRET_NAMES = new Set([
  'code',
  'state',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'credentials',
  'passphrase',
]);
/** …and every name ending like these: accessToken, client_secret, apiKey, TETHER_UI_CODEC_TOKEN. */
const SECRET_ENDINGS = ['token', 'tokens', 'secret', 'secrets', 'password', 'key'];

/** Objects nested deeper than this are written as a placeholder: nothing logs such shapes on purpose. */
const MAX_DEPTH = 10;

export function isSecretName(name: string): boolean {
  const normalised = name.toLowerCase().replace(/[-_]/g, '');
  return SECRET_NAMES.has(normalised) || SECRET_ENDINGS.some((ending) => normalised.endsWith(ending));
}

/**
 * The value with every secret-named field censored, at any depth. Plain objects, arrays and errors are
 * walked; a value with nothing to censor is returned as is (no copy), so the common case costs one walk.
 */
export function redactSecrets<T>(value: T): T {
  return walk(value, 0, new WeakSet()) as T;
}

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return walkObject(pino.stdSerializers.err(value), depth, seen, true);
  if (Array.isArray(value)) {
    if (seen.has(value)) return '[circular]';
    if (depth >= MAX_DEPTH) return '[too deep]';
    seen.add(value);
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const walked = walk(item, depth + 1, seen);
      if (walked !== item) (copy ??= [...value])[i] = walked;
    });
    seen.delete(value);
    return copy ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  // Class instances (a request, a reply, a Buffer) are left to the serializers that know their shape.
  if (proto !== Object.prototype && proto !== null) return value;
  return walkObject(value as Record<string, unknown>, depth, seen, false);
}

function walkObject(
  object: Record<string, unknown>,
  depth: number,
  seen: WeakSet<object>,
  isError: boolean,
): unknown {
  if (seen.has(object)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(object);
  let copy: Record<string, unknown> | undefined;
  for (const [name, item] of Object.entries(object)) {
    // An error's own `code` is its classification (ECONNREFUSED, P2002, FST_ERR_…), kept for diagnosis.
    const keep = isError && name === 'code' && (typeof item === 'string' || typeof item === 'number');
    const walked =
      !keep && isSecretName(name) && item !== undefined && item !== null
        ? REDACTED
        : walk(item, depth + 1, seen);
    if (walked !== item) (copy ??= { ...object })[name] = walked;
  }
  seen.delete(object);
  return copy ?? object;
}

export function createLogger(level: string, name: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name,
      level,
      // The object of each call is walked before pino's serializers run; errors are walked as they serialise.
      formatters: { log: (object) => redactSecrets(object) },
      serializers: { err: (err: unknown) => redactSecrets(err) },
    },
    destination,
  );
}
