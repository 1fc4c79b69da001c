// Codec endpoint for the Temporal Web UI: decodes (and encodes) payloads so operators can read
// workflow inputs and results. Requires an admin API key, or the UI token in the path for a UI that
// cannot send headers (the dev server's --ui-codec-endpoint). CORS admits only the UI's origin.
import { timingSafeEqual } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../platform/db';
import type { EncryptionCodec } from '../../platform/payload-codec';
import { ApiError } from '../errors';
import { apiKeyData } from '../tenant-data';

export interface CodecRouteOptions {
  db: Db;
  codec: EncryptionCodec;
  /** Origins allowed to call from a browser (the Temporal UI). */
  allowedOrigins: string[];
  /** Secret path token for the UI; unset disables the token route. */
  uiToken?: string;
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

export const codecRoutes: FastifyPluginAsync<CodecRouteOptions> = async (app, options) => {
  const apiKeys = apiKeyData(options.db);
  const cors = (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    if (origin && options.allowedOrigins.includes(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'origin');
      reply.header('access-control-allow-methods', 'POST, OPTIONS');
      reply.header('access-control-allow-headers', 'content-type, x-namespace, authorization');
    }
  };

  const authorize = async (request: FastifyRequest<{ Params: { token?: string } }>) => {
    const token = request.params.token;
    if (token !== undefined) {
      const expected = Buffer.from(options.uiToken ?? '');
      const given = Buffer.from(token);
      if (expected.length > 0 && expected.length === given.length && timingSafeEqual(expected, given)) return;
      throw new ApiError(401, 'unauthorized', 'unknown codec token');
    }
    const header = request.headers.authorization;
    const auth = header?.startsWith('Bearer ') ? await apiKeys.verify(header.slice(7).trim()) : null;
    if (auth?.role !== 'admin')
      throw new ApiError(401, 'unauthorized', 'the codec endpoint needs an admin API key');
  };

  const handler =
    (direction: 'encode' | 'decode') =>
    async (request: FastifyRequest<{ Params: { token?: string }; Body: unknown }>, reply: FastifyReply) => {
      cors(request, reply);
      await authorize(request);
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
    app.post(`${prefix}/decode`, { schema: { hide: true } }, handler('decode'));
    app.post(`${prefix}/encode`, { schema: { hide: true } }, handler('encode'));
    app.options(`${prefix}/decode`, { schema: { hide: true } }, preflight);
    app.options(`${prefix}/encode`, { schema: { hide: true } }, preflight);
  }
};
