// Every error leaves as JSON naming the problem: validation failures name each field.
import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isDatabaseUnavailable } from '../platform/db';

/** What a client is told to wait before retrying while PostgreSQL is unreachable (a restart takes seconds). */
const DATABASE_RETRY_AFTER_SECONDS = 2;

/** An error the API means to show the client, with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly issues?: { field: string; message: string }[],
    /** More machine-readable fields of the answer (e.g. the scope a key lacks). */
    readonly details?: Record<string, unknown>,
    /** Sent as Retry-After: when to try again, for a condition expected to pass. */
    readonly retryAfterSeconds?: number,
    /** What went wrong inside, for the log only (internalError): the client gets the error id. */
    readonly logged?: { errorId: string; cause: unknown },
  ) {
    super(message);
  }

  toBody() {
    return { error: this.code, message: this.message, issues: this.issues, ...this.details };
  }
}

/**
 * An answer about an internal failure (a gRPC error, a database error): the client gets `message` and an
 * error id, the original goes to the log under that id. Internal text never reaches a tenant.
 */
export function internalError(
  statusCode: number,
  code: string,
  message: string,
  cause: unknown,
  retryAfterSeconds?: number,
): ApiError {
  const errorId = randomUUID();
  return new ApiError(
    statusCode,
    code,
    `${message} (error id ${errorId})`,
    undefined,
    { errorId },
    retryAfterSeconds,
    {
      errorId,
      cause,
    },
  );
}

export function validationError(issues: { field: string; message: string }[]): ApiError {
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new ApiError(400, 'validation_failed', summary, issues);
}

export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (err instanceof ApiError) {
    if (err.logged) request.log.error({ err: err.logged.cause, errorId: err.logged.errorId }, err.message);
    if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
    return reply.status(err.statusCode).send(err.toBody());
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = err.validationContext ?? 'body';
    const issues = err.validation.map((v) => ({
      field: [where, ...fieldPath(v.instancePath, v.keyword, v.params)].join('.'),
      message: v.message ?? 'invalid',
    }));
    return reply.status(400).send(validationError(issues).toBody());
  }
  // Fastify's own 4xx (body too large, malformed JSON, wrong content type).
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return reply
      .status(err.statusCode)
      .send({ error: (err.code ?? 'bad_request').toLowerCase(), message: err.message });
  }
  // PostgreSQL restarting or failing over is an outage to ride out, not a bug: 503, and the client retries.
  if (isDatabaseUnavailable(err)) {
    request.log.warn(
      { err: { message: err.message.split('\n').filter(Boolean).pop() } },
      'database unavailable',
    );
    return reply
      .status(503)
      .header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS))
      .send({ error: 'database_unavailable', message: 'the database is unavailable; retry later' });
  }
  // Unclassified (a Prisma error, a TypeError): its text is for the log, the client gets the error id.
  const internal = internalError(500, 'internal', 'internal error', err);
  request.log.error({ err, errorId: internal.logged!.errorId }, 'unhandled error');
  return reply.status(500).send(internal.toBody());
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return reply
    .status(404)
    .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
}

function fieldPath(instancePath: string, keyword: string, params: unknown): string[] {
  const parts = instancePath.split('/').filter(Boolean);
  const keys = (params as { keys?: unknown } | undefined)?.keys;
  // Unknown keys name themselves, so "body.credentials.extra" rather than just "body.credentials".
  if (keyword === 'unrecognized_keys' && Array.isArray(keys) && keys.length) parts.push(keys.join(','));
  return parts;
}
