// HTTP to vendors: timeouts, a response size cap, no redirects (undici's request() never follows
// them, so a 3xx is just an unexpected answer), and every network failure
// classified so the workflow can tell "vendor down" from "credentials wrong".
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { pipeline, Transform, type Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { FailureType } from '../domain/failures';
import { checkRequestUrl, isAllowedAddress, type UrlPolicy } from './url-policy';
import { VendorError } from './vendor-error';

export interface VendorRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  /** Sent as is with content-type application/json (webhooks), or `contentType` when given (SCIM). */
  jsonBody?: string;
  contentType?: string;
}

export interface VendorResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface VendorHttp {
  send(req: VendorRequest): Promise<VendorResponse>;
}

/** A call whose bodies flow through as they arrive, both ways (the API's proxy). */
export interface VendorStreamRequest {
  method: Dispatcher.HttpMethod;
  url: string;
  headers: Record<string, string | string[]>;
  body?: Readable | Buffer;
}

export interface VendorStreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The answer as it arrives; it fails once more than maxResponseBytes came, or the timeout passed. */
  body: Readable;
}

export interface VendorStreamHttp {
  stream(req: VendorStreamRequest): Promise<VendorStreamResponse>;
}

export interface VendorHttpOptions extends UrlPolicy {
  timeoutMs: number;
  maxResponseBytes: number;
}

export function createVendorHttp(
  options: VendorHttpOptions,
): VendorHttp & VendorStreamHttp & { close(): Promise<void> } {
  const agent = new Agent({
    // The address check happens where the socket connects, on the address actually used, so a
    // name that resolves differently later (DNS rebinding) cannot slip past a check made earlier.
    connect: { timeout: options.timeoutMs, lookup: publicOnlyLookup(options) },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });

  async function send(req: VendorRequest): Promise<VendorResponse> {
    const checked = checkRequestUrl(req.url, options);
    if ('error' in checked) {
      throw new VendorError(FailureType.InvalidConfiguration, `vendor URL refused: ${checked.error}`);
    }
    const url = new URL(req.url);
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    let body: string | undefined;
    if (req.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    } else if (req.jsonBody !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      body = req.jsonBody;
    }
    let res;
    try {
      res = await request(url, {
        method: req.method,
        headers,
        body,
        dispatcher: agent,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      throw networkError(err, url);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > options.maxResponseBytes) {
          res.body.destroy();
          throw new AnswerTooLargeError(url, options.maxResponseBytes);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof VendorError) throw err;
      throw networkError(err, url);
    }
    return { status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') };
  }

  async function stream(req: VendorStreamRequest): Promise<VendorStreamResponse> {
    const checked = checkRequestUrl(req.url, options);
    if ('error' in checked) {
      throw new VendorError(FailureType.InvalidConfiguration, `vendor URL refused: ${checked.error}`);
    }
    const url = new URL(req.url);
    let res;
    try {
      res = await request(url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        dispatcher: agent,
        // The whole exchange, answer body included, as for send().
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      throw networkError(err, url);
    }
    if (Number(res.headers['content-length']) > options.maxResponseBytes) {
      // Destroying the body reports an abort on it; nothing is reading it to care.
      res.body.on('error', () => undefined).destroy();
      throw new AnswerTooLargeError(url, options.maxResponseBytes);
    }
    let size = 0;
    const capped = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > options.maxResponseBytes) done(new AnswerTooLargeError(url, options.maxResponseBytes));
        else done(null, chunk);
      },
    });
    // Either side failing (the vendor's connection, the cap, a reader that went away) ends both.
    pipeline(res.body, capped, () => undefined);
    return { status: res.statusCode, headers: res.headers, body: capped };
  }

  return { send, stream, close: () => agent.close() };
}

/** The vendor answered more than maxResponseBytes: treated as the vendor failing. */
export class AnswerTooLargeError extends VendorError {
  constructor(url: URL, maxBytes: number) {
    super(FailureType.VendorUnavailable, `${url.host} answered more than ${maxBytes} bytes`);
  }
}

const NOT_PUBLIC = 'ETETHER_NOT_PUBLIC';

function publicOnlyLookup(policy: UrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    dnsLookup(hostname, { family, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const refused = addresses.find((a) => !isAllowedAddress(a.address, policy));
      if (refused || addresses.length === 0) {
        const refusal = Object.assign(new Error(`${hostname} resolves to a non-public address`), {
          code: NOT_PUBLIC,
        });
        return callback(refusal, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

function networkError(err: unknown, url: URL): VendorError {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  // A name resolving to a private address and a name that does not resolve (a typo at link, a DNS blip on
  // a connection that worked: the workflow tells them apart) read the same, so internal names stay unknown.
  // A temporary resolver failure (EAI_AGAIN) is an outage like any other.
  if ([e.code, e.cause?.code].some((code) => code === NOT_PUBLIC || code === 'ENOTFOUND')) {
    return new VendorError(
      FailureType.InvalidConfiguration,
      `host ${url.hostname} is not a public host: check the instance URL`,
    );
  }
  const what =
    e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT'
      ? 'timed out'
      : `failed (${e.code ?? e.name ?? 'network error'})`;
  return new VendorError(FailureType.VendorUnavailable, `request to ${url.host} ${what}`);
}
