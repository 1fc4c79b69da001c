// Instance URLs are user input the worker calls with credentials: only https, unless loopback
// plain http is explicitly allowed (tests, simulators, the demo).

export interface UrlPolicy {
  allowInsecureLoopback: boolean;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Normalise an instance URL or say why it is refused. */
export function checkInstanceUrl(raw: string, policy: UrlPolicy): { url: string } | { error: string } {
  return checkUrl(raw, policy, false);
}

/** The same rules for a URL the worker is about to call (which may carry a query). */
export function checkRequestUrl(raw: string, policy: UrlPolicy): { url: string } | { error: string } {
  return checkUrl(raw, policy, true);
}

function checkUrl(raw: string, policy: UrlPolicy, allowQuery: boolean): { url: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: 'must be an absolute URL such as https://acme.example.com' };
  }
  if (url.username || url.password) return { error: 'must not contain credentials' };
  if ((url.search && !allowQuery) || url.hash) return { error: 'must not contain a query or fragment' };
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol === 'http:' && loopback && policy.allowInsecureLoopback) {
    return { url: normalise(url, allowQuery) };
  }
  if (url.protocol !== 'https:') return { error: 'must use https' };
  if (loopback && !policy.allowInsecureLoopback) return { error: 'must not point at this machine' };
  return { url: normalise(url, allowQuery) };
}

function normalise(url: URL, keepAsIs: boolean): string {
  return keepAsIs ? url.toString() : url.toString().replace(/\/+$/, '');
}
