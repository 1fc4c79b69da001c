// /v1/connections/{id}/proxy/{path}: the caller's request, forwarded to the vendor's API base with the
// connection's token injected, so the caller never holds it. Needs the key scope connections:proxy. The
// vendor's answer passes through (status, headers, body) marked `tether-proxied: vendor`; tether's own
// errors carry no such header. Bodies flow through as they arrive, both ways, under the same URL policy,
// timeout and size cap as the worker's vendor calls.
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Dispatcher } from 'undici';
import { getVendor } from '../../catalog';
import { FailureType } from '../../domain/failures';
import type { Connection } from '../../platform/db';
import { apiBaseUrls, DEFAULT_API_BASE } from '../../vendor-kit/api-bases';
import { vendorContext } from '../../vendor-kit/context';
import { budgetSlots, waitForSlot } from '../../vendor-kit/rate-limits';
import { VendorError } from '../../vendor-kit/vendor-error';
import {
  AnswerTooLargeError,
  createVendorHttp,
  type VendorStreamResponse,
} from '../../vendor-kit/vendor-http';
import type { AccessMetrics } from '../access-metrics';
import { ConnectionUnusableSchema, ProxyHeadersSchema, ProxyParamsSchema } from '../access-schemas';
import type { AppDeps } from '../app';
import { readScope } from '../auth';
import { ApiError, validationError } from '../errors';
import { API_BASE_HEADER, headersToCaller, headersToVendor, PROXIED_HEADER } from '../proxy-headers';
import { proxiedUrl } from '../proxy-path';
import { ErrorSchema } from '../schemas';
import type { TenantData } from '../tenant-data';
import { getValidAccessToken, replaceRefusedToken, type UsableToken } from '../token-access';
import { tokenFailure } from '../token-answers';

export interface ProxyOptions {
  /** Whole exchange with the vendor, as the worker's TETHER_VENDOR_TIMEOUT_MS. */
  timeoutMs: number;
  /** Cap of the request body and of the answer, as the worker's TETHER_VENDOR_MAX_RESPONSE_BYTES. */
  maxBytes: number;
  /** A refused token younger than this is not replaced (replaceRefusedToken says why). */
  minTokenAgeForReplacementMs: number;
}

export const DEFAULT_PROXY_OPTIONS: ProxyOptions = {
  timeoutMs: 15_000,
  maxBytes: 1_048_576,
  minTokenAgeForReplacementMs: 60_000,
};

/** The methods REST APIs use; CONNECT, TRACE and OPTIONS are not forwarded. */
const METHODS: Dispatcher.HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** A token is refreshed before the call when it would expire within this (at most half its lifetime). */
const PREFLIGHT_VALIDITY_MS = 30_000;

const PROXY_PREFIX = '/proxy/';

export const proxyRoutes: FastifyPluginAsyncZod<{
  deps: AppDeps;
  data: TenantData;
  metrics: AccessMetrics;
}> = async (app, { deps, data, metrics }) => {
  const tokens = { connections: data.connections, secrets: deps.secrets, temporal: deps.temporal };
  const options = { ...DEFAULT_PROXY_OPTIONS, ...deps.proxy };
  const http = createVendorHttp({
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxBytes,
    allowInsecureLoopback: deps.urlPolicy.allowInsecureLoopback,
  });
  app.addHook('onClose', () => http.close());
  // The body is the caller's bytes, for the vendor: nothing here parses it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.route({
    method: METHODS,
    url: '/connections/:id/proxy/*',
    exposeHeadRoute: false,
    schema: {
      tags: ['proxy'],
      summary: "Call the vendor's API with the connection's token injected",
      description:
        'Needs the API key scope `connections:proxy`. The path after /proxy/ (and the query) is relative to the ' +
        "vendor's API base (`tether-api-base` picks another, e.g. `scim` on Slack); absolute URLs, `.`/`..`, `//`, " +
        'backslashes and encoded dots, slashes, backslashes or percent signs answer 400. The caller’s Authorization, ' +
        'cookies and hop-by-hop headers are dropped. A vendor 401 makes the workflow refresh the token once and the ' +
        'call is retried once. The vendor’s answer (any status, 429 with its Retry-After included) passes through ' +
        'with `tether-proxied: vendor`; answers without that header are tether’s own (JSON errors). Calls share the ' +
        "connection's rate budgets with the workers (README: Vendor rate limits): when they are used up, tether answers " +
        '429 `rate_budget_exhausted` with Retry-After itself, without calling the vendor.',
      params: ProxyParamsSchema,
      headers: ProxyHeadersSchema,
      response: {
        400: ErrorSchema,
        404: ErrorSchema,
        409: ConnectionUnusableSchema,
        413: ErrorSchema,
        429: ErrorSchema,
        502: ErrorSchema,
        503: ErrorSchema,
      },
    },
    handler: async (request, reply) => {
      const started = process.hrtime.bigint();
      const connection = await data.connections.get(readScope(request), request.params.id);
      const vendorLabel = { vendor: connection.vendor };
      const tetherError = (err: unknown) => {
        // Other failures (the database) get their status from the error handler.
        const status = err instanceof ApiError ? String(err.statusCode) : 'error';
        metrics.proxied.inc({ ...vendorLabel, status, answered_by: 'tether' });
        return err;
      };
      try {
        const incoming = request.raw.headers;
        const url = targetUrl(connection, request.raw.url ?? '', request.headers[API_BASE_HEADER]);
        const declared = Number(incoming['content-length'] ?? 0);
        if (declared > options.maxBytes) throw tooLarge(options.maxBytes);
        let token: UsableToken;
        try {
          token = await getValidAccessToken(tokens, connection, {
            minValidityMs: preflightWindowMs(connection),
          });
        } catch (err) {
          throw tokenFailure(err);
        }
        const upload = hasBody(request.raw) ? captureBody(request.raw, options.maxBytes) : null;
        const forwarded = headersToVendor(incoming);
        const send = async (with_: UsableToken, body: PassThrough | Buffer | undefined) => {
          await takeBudget(connection, request.method, url);
          return http
            .stream({
              method: request.method as Dispatcher.HttpMethod,
              url,
              headers: { ...forwarded, authorization: `Bearer ${with_.accessToken}` },
              body,
            })
            .catch((err: unknown) => {
              throw upload?.overflowed() ? tooLarge(options.maxBytes) : outboundFailure(err);
            });
        };

        let answer = await send(token, upload?.stream);
        if (answer.status === 401) {
          const refused = await readAll(answer);
          let replacement: UsableToken | null;
          try {
            replacement = await replaceRefusedToken(tokens, token, {
              minTokenAgeMs: options.minTokenAgeForReplacementMs,
            });
          } catch (err) {
            throw tokenFailure(err);
          }
          metrics.tokenReplacements.inc({ ...vendorLabel, outcome: replacement ? 'replaced' : 'passed' });
          if (replacement) {
            // The one retry resends the whole body, which was kept (at most maxBytes) for it.
            answer = await send(replacement, upload ? await upload.whole : undefined);
          } else {
            answer = { ...answer, body: bufferStream(refused) };
          }
        }
        metrics.vendorLatency.observe(vendorLabel, Number(process.hrtime.bigint() - started) / 1e9);
        metrics.proxied.inc({ ...vendorLabel, status: String(answer.status), answered_by: 'vendor' });
        if (request.method === 'HEAD') answer.body.resume();
        // Any status the vendor answered, not only those the schema documents for tether's own errors.
        return (reply as unknown as FastifyReply)
          .code(answer.status)
          .headers(headersToCaller(answer.headers))
          .header(PROXIED_HEADER, 'vendor')
          .send(request.method === 'HEAD' ? undefined : answer.body);
      } catch (err) {
        throw tetherError(err);
      }
    },
  });

  /**
   * A slot in the connection's shared rate budgets (the workers' too), waited for in place when it is near;
   * further away the call answers tether's own 429 with Retry-After instead of reaching the vendor.
   */
  async function takeBudget(connection: Connection, method: string, url: string): Promise<void> {
    const shared = deps.rateLimits;
    if (!shared) return;
    const vendor = getVendor(connection.vendor);
    const ctx = vendorContext(connection, http, deps.vendorEndpoints);
    const slots = budgetSlots(shared.limits, vendor, connection.id, ctx, { method, url, token: false });
    if (slots.length === 0) return;
    const budgetClass = slots.map((slot) => slot.class).join('+');
    const slot = await waitForSlot(
      shared.budget,
      { slots, reserveWithinMs: shared.inlineWaitMs },
      shared.inlineWaitMs,
      (outcome) => metrics.budgetWaits.inc({ vendor: vendor.id, class: budgetClass, outcome }),
    );
    if (!slot.ready) {
      const { answer } = slot;
      metrics.budgetWaits.inc({ vendor: vendor.id, class: budgetClass, outcome: 'refused' });
      throw new ApiError(
        429,
        'rate_budget_exhausted',
        `the connection's shared ${budgetClass} budget (${vendor.name}'s rate limit) is used up: retry after the time Retry-After says`,
        undefined,
        undefined,
        Math.max(1, Math.ceil(answer.waitMs / 1000)),
      );
    }
  }

  function targetUrl(connection: Connection, rawUrl: string, baseName: string | undefined): string {
    const bases = apiBaseUrls(
      getVendor(connection.vendor),
      vendorContext(connection, http, deps.vendorEndpoints),
    );
    const base = bases[baseName ?? DEFAULT_API_BASE];
    if (!base) {
      throw validationError([
        {
          field: `headers.${API_BASE_HEADER}`,
          message: `${connection.vendor} has the API bases ${Object.keys(bases).join(', ')}`,
        },
      ]);
    }
    // As it came on the wire, not as the router decoded it: encoded tricks are judged undecoded.
    const at = rawUrl.indexOf(PROXY_PREFIX);
    const query = rawUrl.indexOf('?', at);
    const rawPath = rawUrl.slice(at + PROXY_PREFIX.length, query === -1 ? undefined : query);
    const checked = proxiedUrl(base, rawPath, query === -1 ? '' : rawUrl.slice(query + 1));
    if ('error' in checked) throw validationError([{ field: 'path', message: checked.error }]);
    return checked.url;
  }
};

/** Refresh before the call only when the token is nearly gone; never more than half its lifetime ahead. */
function preflightWindowMs(connection: Connection): number {
  const { tokenExpiresAt, tokenObtainedAt } = connection;
  if (!tokenExpiresAt || !tokenObtainedAt) return 0;
  return Math.min(PREFLIGHT_VALIDITY_MS, (tokenExpiresAt.getTime() - tokenObtainedAt.getTime()) / 2);
}

function hasBody(raw: IncomingMessage): boolean {
  return raw.headers['transfer-encoding'] !== undefined || Number(raw.headers['content-length'] ?? 0) > 0;
}

/**
 * The caller's body, streamed to the vendor as it arrives, and kept whole (it is capped) for the one retry
 * after a 401. Past the cap the upload fails, and the call answers 413.
 */
function captureBody(raw: IncomingMessage, maxBytes: number) {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  const whole = new Promise<Buffer>((resolve, reject) => {
    raw.on('data', (chunk: Buffer) => {
      if (overflow) return;
      size += chunk.length;
      if (size > maxBytes) {
        overflow = true;
        const err = tooLarge(maxBytes);
        stream.destroy(err);
        reject(err);
        return;
      }
      chunks.push(chunk);
      // Written without waiting for the vendor to read: the cap bounds what can pile up.
      if (!stream.destroyed) stream.write(chunk);
    });
    raw.on('end', () => {
      if (overflow) return;
      stream.end();
      resolve(Buffer.concat(chunks));
    });
    raw.on('error', (err) => {
      stream.destroy(err);
      reject(err);
    });
  });
  whole.catch(() => undefined);
  return { stream, whole, overflowed: () => overflow };
}

async function readAll(answer: VendorStreamResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of answer.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function bufferStream(bytes: Buffer): PassThrough {
  const stream = new PassThrough();
  stream.end(bytes);
  return stream;
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'payload_too_large', `a proxied request body may have at most ${maxBytes} bytes`);
}

/** tether could not get an answer from the vendor: its own 502, never mistaken for the vendor's. */
function outboundFailure(err: unknown): unknown {
  if (!(err instanceof VendorError)) return err;
  if (err instanceof AnswerTooLargeError) return new ApiError(502, 'vendor_answer_too_large', err.message);
  return err.type === FailureType.InvalidConfiguration
    ? new ApiError(502, 'vendor_url_refused', err.message)
    : new ApiError(502, 'vendor_unreachable', err.message);
}
