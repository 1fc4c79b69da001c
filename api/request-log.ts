// What the request log says of a request. Fastify's own serializer writes the whole URL, which carries
// secrets: an OAuth callback's `code` and `state` in the query, the Web UI's codec token in the path.
// Here the query is dropped and secret path segments are masked; headers and bodies are never logged.
import type { FastifyRequest } from 'fastify';
import { maskCodecToken } from './routes/codec';

/** The path of a URL without its query, with secret path segments masked. */
export function pathForLog(url: string): string {
  return maskCodecToken(url.split('?')[0] ?? '');
}

export function requestForLog(request: FastifyRequest) {
  return {
    method: request.method,
    url: pathForLog(request.url),
    host: request.host,
    remoteAddress: request.ip,
  };
}
