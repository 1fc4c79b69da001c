// Probes: cheap vendor calls that prove (2xx) or disprove (403) the scopes a token carries.
import type { VendorDefinition } from '../catalog';
import type { Probe, VendorContext } from '../catalog/types';
import { VendorError } from '../lib/vendor-error';
import { FailureType } from '../workflows/types';
import { bodyError, parseJson, throwIfUnavailable } from './vendor-responses';

export type ProbeResult = 'granted' | 'denied';

export async function runProbe(
  vendor: VendorDefinition,
  ctx: VendorContext,
  probe: Probe,
  accessToken: string,
): Promise<ProbeResult> {
  const base = vendor.hooks?.apiBaseUrl?.(ctx) ?? ctx.instanceUrl;
  const url = `${base}${probe.path}`;
  const host = new URL(url).host;
  const res = await ctx.http.send({
    method: probe.method,
    url,
    headers: { authorization: `Bearer ${accessToken}` },
  });
  throwIfUnavailable(res, host);
  if (res.status === 401) {
    throw new VendorError(FailureType.TokenRejected, `${host} rejected the token (401 on ${probe.id})`, undefined, 401);
  }
  if (res.status === 403) return 'denied';
  if (res.status === 404) {
    throw new VendorError(
      FailureType.InvalidConfiguration,
      `${host} has no ${probe.path.split('?')[0]} (404): check the instance URL`,
    );
  }
  if (res.status < 200 || res.status >= 300) {
    throw new VendorError(FailureType.VendorUnavailable, `${host} answered HTTP ${res.status} on ${probe.id}`);
  }
  // A 2xx carrying an error (InvGate's {status:"ERROR"}) means the call was not allowed.
  return bodyError(vendor, parseJson(res, probe.id, host)) ? 'denied' : 'granted';
}
