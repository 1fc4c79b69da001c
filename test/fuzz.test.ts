// Thousands of random and malformed requests: never a 5xx, every error a JSON body naming the problem.
// Seeded, so a failure reproduces (FUZZ_SEED=<n> to explore other sequences).
import { startStack, type Stack } from './support/stack';

let stack: Stack;
let existing: string;
beforeAll(async () => {
  stack = await startStack({ rateLimitPerMinute: 1_000_000, addressRateLimitPerMinute: 1_000_000 });
  existing = (await stack.link(validBody())).id;
  SEGMENTS.push(existing);
  PATHS = [...new Set(stack.rawApp.routeTable.map((route) => route.url)), ...UNMATCHED];
});
afterAll(async () => {
  await stack?.close();
});

const seed = Number(process.env.FUZZ_SEED ?? 20261122);
function prng(state: number) {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (max: number) => Math.floor(random() * max);

const ID = '0d2c4a9e-1f7b-4c3d-8e5f-6a7b8c9d0e1f';
const SEGMENTS: string[] = [ID, 'not-a-uuid', '', '..', '%00', '%ff', 'x'.repeat(300), '😀', '-1', '1e309', '{}', 'null'];
// Every route the app registers (so a route added later is fuzzed without editing this list), plus paths
// that match none.
let PATHS: string[] = [];
const UNMATCHED = ['/v1/:id', '/:id', '/v1/connections/:id/nope'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'] as const;
const STRINGS = ['', 'invgate', 'promapp', 'halo', 'ninjaone', 'https://acme.example.com', 'http://127.0.0.1:1', 'x'.repeat(5000), '\u0000', '<script>', "' OR 1=1 --", '😀'.repeat(50)];

function value(depth = 0): unknown {
  switch (int(depth > 3 ? 5 : 8)) {
    case 0: return pick(STRINGS);
    case 1: return random() * 10 ** int(400) * (random() < 0.5 ? -1 : 1);
    case 2: return random() < 0.5;
    case 3: return null;
    case 4: return int(2 ** 31);
    case 5: return Array.from({ length: int(5) }, () => value(depth + 1));
    default: return object(depth + 1);
  }
}
function object(depth = 0): Record<string, unknown> {
  const keys = ['vendor', 'instanceUrl', 'credentials', 'settings', 'displayName', 'clientId', 'clientSecret', 'token', 'payloads', '__proto__', 'constructor', pick(STRINGS)];
  return Object.fromEntries(Array.from({ length: int(6) }, () => [pick(keys), value(depth)]));
}
function validBody() {
  return {
    vendor: 'invgate',
    instanceUrl: stack.instanceUrl('invgate'),
    credentials: { clientId: 'demo-all-scopes.fuzz', clientSecret: 'demo-secret' },
  };
}
function body(): { payload?: string; contentType?: string } {
  switch (int(9)) {
    case 8: return { contentType: pick(['application/json', 'application/json; charset=utf-8']) };
    case 7: return { payload: JSON.stringify(validBody()), contentType: 'application/json' };
    case 0: return {};
    case 1: return { payload: '{"vendor":', contentType: 'application/json' };
    case 2: return { payload: 'x=1&y=2', contentType: 'application/x-www-form-urlencoded' };
    case 3: return { payload: '<xml/>', contentType: 'text/xml' };
    case 4: return { payload: JSON.stringify({ vendor: pick(['invgate', 'promapp', 'halo', 'ninjaone']), instanceUrl: pick(STRINGS), credentials: object(2), settings: object(2) }), contentType: 'application/json' };
    case 5: return { payload: JSON.stringify(value()), contentType: pick(['application/json', 'application/json; charset=utf-8', 'text/plain']) };
    default: return { payload: JSON.stringify(object()), contentType: 'application/json' };
  }
}
function headers(contentType?: string): Record<string, string> {
  const h: Record<string, string> = {};
  if (contentType) h['content-type'] = contentType;
  if (random() < 0.2) h['idempotency-key'] = pick(['k', 'has space', 'x'.repeat(300), '😀', 'ok-key-1']);
  if (random() < 0.15) h['x-tenant-id'] = pick(['acme', '', '../etc', 'x'.repeat(100)]);
  if (random() < 0.15) h.authorization = pick(['Bearer', 'Bearer x', 'Basic abc', `Bearer ${stack.adminKey}`, 'Bearer tk_000000000000_' + 'A'.repeat(43)]);
  if (random() < 0.05) h.origin = pick(['http://127.0.0.1:8233', 'https://evil.example']);
  return h;
}

test(`6000 random requests (seed ${seed}): no 5xx, errors are JSON naming the problem`, async () => {
  const problems: string[] = [];
  const statuses = new Map<number, number>();
  for (let i = 0; i < 6000; i++) {
    const method = pick(METHODS);
    const path = pick(PATHS)
      .replace(/:[A-Za-z]+/g, () => encodeURIComponent(pick(SEGMENTS)).replace(/%25/g, '%'))
      .replace('*', () => pick(['api/v1/categories', '../x', '%2e%2e/x', 'https://evil.example/', '']));
    const query = random() < 0.3 ? `?${pick(['vendor', 'status', 'limit', 'cursor', 'x'])}=${encodeURIComponent(String(value(3)))}` : '';
    const { payload, contentType } = method === 'GET' || method === 'HEAD' ? {} : body();
    const res = await stack.app.inject({ method, url: path + query, payload, headers: headers(contentType) });
    const where = `${method} ${path}${query} ${payload?.slice(0, 80) ?? ''}`;
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    if (res.statusCode >= 500) problems.push(`${res.statusCode} for ${where}: ${res.body.slice(0, 200)}`);
    // Pages for a browser (the OAuth callback, the connect page, /docs) answer errors as HTML unless asked for
    // JSON; they must still never fail with a 5xx.
    const page = ['/v1/oauth/callback', '/docs', '/connect/'].some(
      (prefix) => path.startsWith(prefix) && !path.startsWith('/connect/api/'),
    );
    if (res.statusCode >= 400 && method !== 'HEAD' && !page) {
      let json: { error?: unknown; message?: unknown } | undefined;
      try {
        json = res.json();
      } catch {
        problems.push(`non-JSON ${res.statusCode} for ${where}`);
        continue;
      }
      if (typeof json?.error !== 'string' || typeof json?.message !== 'string' || !json.message) {
        problems.push(`error without code/message (${res.statusCode}) for ${where}: ${res.body.slice(0, 200)}`);
      }
    }
  }
  expect(problems.slice(0, 20)).toEqual([]);
  // The routes of every feature were reached: jobs, lifecycle events, webhooks, API keys, token, proxy.
  for (const route of ['/v1/connections/:id/jobs', '/v1/lifecycle-events', '/v1/webhooks/:id', '/v1/api-keys'])
    expect(PATHS).toContain(route);
  // The fuzzer reached past validation and auth too, not only the front door.
  expect([200, 202, 400, 401, 404].filter((status) => !statuses.has(status))).toEqual([]);
});
