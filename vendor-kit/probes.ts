// Probes: cheap vendor calls that prove (2xx) or disprove (403) the scopes a token carries.
import type { VendorDefinition } from './definition';
import type { Probe, VendorContext } from './definition';
import { VendorError } from './vendor-error';
import { FailureType } from '../domain/failures';
import {
  CHECK_INSTANCE_URL,
  bodyError,
  classifiedBodyError,
  detailOf,
  parseJson,
  throwIfUnavailable,
  truncate,
} from './vendor-responses';

export type ProbeResult = 'granted' | 'denied';

/** `tokenAccepted`: an earlier probe of the same check answered 2xx, so the token itself is good. */
export async function runProbe(
  vendor: VendorDefinition,
  ctx: VendorContext,
  probe: Probe,
  accessToken: string,
  tokenAccepted = false,
): Promise<ProbeResult> {
  const base = probe.baseUrl?.(ctx) ?? vendor.hooks?.apiBaseUrl?.(ctx) ?? ctx.instanceUrl;
  const url = `${base}${probe.path}`;
  const host = new URL(url).host;
  const res = await ctx.http.send({
    method: probe.method,
    url,
    headers: { authorization: `Bearer ${accessToken}` },
  });
  throwIfUnavailable(res, host, vendor);
  if (res.status === 401) {
    if (probe.unauthorizedMeansDenied && tokenAccepted) return 'denied';
    throw new VendorError(
      FailureType.TokenRejected,
      `${host} rejected the token (401 on ${probe.id})${detailOf(vendor, res)}`,
      undefined,
      401,
    );
  }
  if (res.status === 403) return 'denied';
  if (res.status === 404) {
    throw new VendorError(
      FailureType.InvalidConfiguration,
      `${host} has no ${probe.path.split('?')[0]} (404): ${CHECK_INSTANCE_URL}`,
      undefined,
      404,
    );
  }
  if (res.status < 200 || res.status >= 300) {
    throw new VendorError(
      FailureType.VendorUnavailable,
      `${host} answered HTTP ${res.status} on ${probe.id}${detailOf(vendor, res)}`,
    );
  }
  // A 2xx carrying an error means the call was not allowed (InvGate's {status:"ERROR"}), unless the
  // vendor's hook says it means more (Slack's {ok:false, error:"invalid_auth"} is a dead token).
  const error = bodyError(vendor, parseJson(res, probe.id, host));
  if (!error) return 'granted';
  const message = `${host} refused ${probe.id}: ${truncate(`${error.code}: ${error.message}`)}`;
  const failure = classifiedBodyError(error, message, FailureType.TokenRejected, res);
  if (failure) throw failure;
  return 'denied';
}
