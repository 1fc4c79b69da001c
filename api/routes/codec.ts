// Codec endpoint for the Temporal Web UI: decodes (and encodes) payloads so operators can read
// workflow inputs and results. Requires an admin API key, or the UI token in the path for a UI that
// cannot send headers (the dev server's --ui-codec-endpoint). CORS admits only the UI's origin.
// The token is a secret in a path: the request log masks it (maskCodecToken).
import { timingSafeEqual } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { EncryptionCodec } from '../../platform/payload-codec';
import { REDACTED } from '../../platform/logger';
import type { AddressLimit } from '../address-limit';
import { requireAdminKey } from '../auth';
import type { TenantData } from '../tenant-data';
import { ApiError } from '../errors';

export interface CodecRouteOptions {
  /** For the admin key the non-UI routes need. */
  apiKeys: TenantData['apiKeys'];
  codec: EncryptionCodec;
  /** Origins allowed to call from a browser (the Temporal UI). */
  allowedOrigins: string[];
  /** Secret path token for the UI; unset disables the token route. */
  uiToken?: string;
  /** Wrong tokens and keys count against their address's budget. */
  addressLimit: AddressLimit;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/** `/codec/t/<token>/…` with the token masked, for logs (any path, matched route or not). */
export function maskCodecToken(path: string): string {
  return path.replace(/\/codec\/t\/[^/]*/gi, `/codec/t/${REDACTED}`);
}

export const codecRoutes: FastifyPluginAsync<CodecRouteOptions> = async (app, options) => {
  const cors = (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    if (origin && options.allowedOrigins.includes(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'origin');
      reply.header('access-control-allow-methods', 'POST, OPTIONS');
      reply.header('access-control-allow-headers', 'content-type, x-namespace, authorization');
    }
  };

  // Before the body is read: a request without the token or an admin key costs nothing more.
  const authorize = async (request: FastifyRequest<{ Params: { token?: string } }>, reply: FastifyReply) => {
    cors(request, reply);
    const token = request.params.token;
    if (token === undefined) {
      return requireAdminKey(
        options.apiKeys,
        options.addressLimit,
        request,
        'the codec endpoint needs an admin API key',
      );
    }
    options.addressLimit.check(request);
    const expected = Buffer.from(options.uiToken ?? '');
    const given = Buffer.from(token);
    if (expected.length > 0 && expected.length === given.length && timingSafeEqual(expected, given)) return;
    options.addressLimit.count(request);
    throw new ApiError(401, 'unauthorized', 'unknown codec token');
  };

  const handler =
    (direction: 'encode' | 'decode') =>
    async (request: FastifyRequest<{ Params: { token?: string }; Body: unknown }>) => {
      const body = request.body as { payloads?: unknown } | undefined;
      if (!body || !Array.isArray(body.payloads) || body.payloads.length > 1000) {
        throw new ApiError(400, 'validation_failed', 'body.payloads must be an array (at most 1000)', [
          { field: 'body.payloads', message: 'expected an array of payloads' },
        ]);
      }
      try {
        const payloads = (body.payloads as JsonPayload[]).map(fromJson);
        const result =
          direction === 'decode'
            ? await options.codec.decode(payloads)
            : await options.codec.encode(payloads);
        return { payloads: result.map(toJson) };
      } catch {
        throw new ApiError(400, 'codec_failed', `could not ${direction} the payloads`);
      }
    };

  const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
    cors(request, reply);
    return reply.status(204).send();
  };

  for (const prefix of ['/codec', '/codec/t/:token']) {
    app.post(`${prefix}/decode`, { schema: { hide: true }, onRequest: authorize }, handler('decode'));
    app.post(`${prefix}/encode`, { schema: { hide: true }, onRequest: authorize }, handler('encode'));
    app.options(`${prefix}/decode`, { schema: { hide: true } }, preflight);
    app.options(`${prefix}/encode`, { schema: { hide: true } }, preflight);
  }
};
