// Reading what a caller presents: form fields, client credentials (body or HTTP Basic), bearer tokens.
import type { FastifyRequest } from 'fastify';

/** A string field from a form or JSON body, or else from the query string (Slack accepts both). */
export function field(request: FastifyRequest, name: string): string | undefined {
  const fromBody = (request.body as Record<string, unknown> | null | undefined)?.[name];
  if (typeof fromBody === 'string') return fromBody;
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof fromQuery === 'string' ? fromQuery : undefined;
}

export interface ClientCredentials {
  clientId?: string;
  clientSecret?: string;
}

/** client_secret_basic (RFC 6749 §2.3.1: each part form-encoded) wins over client_secret_post. */
export function clientCredentials(request: FastifyRequest): ClientCredentials {
  const basic = basicCredentials(request.headers.authorization);
  if (basic) return basic;
  return { clientId: bodyField(request, 'client_id'), clientSecret: bodyField(request, 'client_secret') };
}

function bodyField(request: FastifyRequest, name: string): string | undefined {
  const value = (request.body as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

function basicCredentials(header: string | undefined): ClientCredentials | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return {
    clientId: formDecode(decoded.slice(0, colon)),
    clientSecret: formDecode(decoded.slice(colon + 1)),
  };
}

function formDecode(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header || !/^bearer /i.test(header)) return undefined;
  const token = header.slice(7).trim();
  return token.length > 0 ? token : undefined;
}
