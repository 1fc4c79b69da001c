// Many HTTP clients send `content-type: application/json` with no body on a command that has none
// (refresh, pause, resume, revoke, install). Fastify's own JSON parser refuses that with an error code of
// its own; here an empty JSON body is no body, so body-less commands take it and a route with a body
// schema answers validation_failed naming `body`. Anything else is parsed exactly as Fastify does.
import type { FastifyInstance } from 'fastify';

export function acceptEmptyJsonBody(app: FastifyInstance): void {
  // Fastify's defaults: a __proto__ or constructor key in a body is refused.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser<string>('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else parseJson(request, body, done);
  });
}
