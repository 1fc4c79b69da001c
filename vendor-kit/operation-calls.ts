// JSON calls of a provisioning operation to a vendor's REST API (service desks, RMM): every call through
// the connection's VendorHttp (URL policy, timeouts, size cap), and every answer read the same way. 429, 5xx
// and malformed answers are VendorErrors the job retries; other refusals OperationRefused, in the vendor's
// own words (its errorMessage / errorInBody hooks), with the reason a person acts on.
import { FailureType } from '../domain/failures';
import type { VendorContext } from './definition';
import { OperationRefused, refusalReason } from './operation-error';
import { VendorError } from './vendor-error';
import type { VendorRequest, VendorResponse } from './vendor-http';
import { detailOf, parseJson, throwIfUnavailable, type ErrorHooks } from './vendor-responses';

export class OperationCalls {
  /** The host the calls go to, as messages name it. */
  readonly host: string;

  /** @param vendor the vendor's hooks that read its error bodies; @param baseUrl the API base the paths are relative to (e.g. `{instance}/api/v1`) */
  constructor(
    private readonly vendor: ErrorHooks,
    private readonly ctx: VendorContext,
    private readonly token: string,
    private readonly baseUrl: string,
  ) {
    this.host = new URL(baseUrl).host;
  }

  /** GET `path` (with its query) and the parsed 2xx answer; `what` says what it was for, in messages. */
  get(path: string, what: string): Promise<unknown> {
    return this.call({ method: 'GET', url: `${this.baseUrl}${path}` }, what);
  }

  post(path: string, body: unknown, what: string): Promise<unknown> {
    return this.call({ method: 'POST', url: `${this.baseUrl}${path}`, jsonBody: JSON.stringify(body) }, what);
  }

  delete(path: string, what: string): Promise<unknown> {
    return this.call({ method: 'DELETE', url: `${this.baseUrl}${path}` }, what);
  }

  private async call(request: VendorRequest, what: string): Promise<unknown> {
    const res = await this.ctx.http.send({
      ...request,
      headers: { authorization: `Bearer ${this.token}`, ...request.headers },
    });
    throwIfUnavailable(res, this.host, this.vendor);
    if (res.status >= 200 && res.status < 300) {
      if (res.text.trim() === '') return null;
      const body = parseJson(res, what, this.host);
      // Some vendors (InvGate) answer HTTP 200 with an error body.
      const inBody = this.vendor.hooks?.errorInBody?.(body);
      if (inBody) {
        throw new OperationRefused(
          'invalid_attribute',
          `${this.host} refused to ${what}: ${inBody.message}`,
          res.status,
        );
      }
      return body;
    }
    throw this.refusal(res, what);
  }

  private refusal(res: VendorResponse, what: string): OperationRefused | VendorError {
    const message = `${this.host} refused to ${what} (HTTP ${res.status})${detailOf(this.vendor, res)}`;
    if (res.status >= 300 && res.status < 400) {
      return new VendorError(FailureType.InvalidConfiguration, message, undefined, res.status);
    }
    return new OperationRefused(refusalReason(res.status), message, res.status);
  }
}

/** A list the vendor answers bare or wrapped (`{users: [...]}`, `{data: {...}}` keyed by id). */
export function listIn(body: unknown, key?: string): Record<string, unknown>[] {
  const inner = key && body && typeof body === 'object' && !Array.isArray(body) ? (body as never)[key] : body;
  const items: unknown[] = Array.isArray(inner)
    ? inner
    : inner && typeof inner === 'object'
      ? Object.values(inner)
      : [];
  return items.filter((i): i is Record<string, unknown> => typeof i === 'object' && i !== null);
}
