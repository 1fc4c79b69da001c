// SCIM clients send `Content-Type: application/scim+json` (RFC 7644 §3.1); it is JSON.
import type { FastifyInstance } from 'fastify';

export function acceptScimBodies(app: FastifyInstance): void {
  app.addContentTypeParser(
    'application/scim+json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );
}
