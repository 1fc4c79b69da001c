// Hostile or broken vendor answers (issue #10): every hook of every catalog vendor that reads an answer is
// fed 1 MiB answers built to hurt (long slash runs, long strings in every field, deep nesting, huge scope
// and user lists, escape runs, non-JSON) and must finish within a small bound, failing as a vendor error,
// never a crash or seconds of main-thread work. The catalog is iterated: a new vendor is covered as it lands.
// Each request a hook makes gets the hostile answer in turn, the others a benign `{}` (HTTP 200), so every
// answer a hook reads is reached. Answers come from a VendorHttp stand-in: the cost measured is tether's own.
import { vendors, type VendorDefinition } from '../catalog';
import type { OperationSpec, VendorContext } from '../vendor-kit/definition';
import type { VendorHttp, VendorRequest, VendorResponse } from '../vendor-kit/vendor-http';
import { grantClientCredentials } from '../vendor-kit/token-grant';
import { verifyScopes } from '../vendor-kit/scope-verification';
import { errorDetail } from '../vendor-kit/vendor-responses';
import { normaliseInstanceUrl } from '../vendor-kit/instance-url';
import { VendorError } from '../vendor-kit/vendor-error';
import { OperationRefused } from '../vendor-kit/operation-error';
import { ANSWER_FIELD_LIMITS } from '../vendor-kit/answer-fields';

const MIB = 1024 * 1024;
/** Per hook call, on a shared 2-core machine; the quadratic trim this guards against took seconds. */
const BOUND_MS = 200;
/** No string a hook returns may be longer than the longest answer field allowed. */
const LONGEST_FIELD = Math.max(...Object.values(ANSWER_FIELD_LIMITS));

/** Every field name a catalog vendor reads from an answer, at the top level and nested. */
const FIELDS = [
  'auth_url',
  'tenant_id',
  'access_token',
  'refresh_token',
  'expires_in',
  'scope',
  'token_type',
  'error',
  'error_description',
  'errorMessage',
  'resultCode',
  'Message',
  'ClassName',
  'info',
  'status',
  'needed',
  'detail',
  'scimType',
  'id',
  'name',
  'userName',
  'externalId',
  'url',
  'team_id',
  'user_id',
];

/** An object whose every field (and every nested object tether reads) holds `value`, about 1 MiB in all. */
function everyField(make: (length: number) => string): string {
  const slots = FIELDS.length * 5 + 8;
  const value = make(Math.floor(MIB / slots) - 16);
  const flat = Object.fromEntries(FIELDS.map((f) => [f, value]));
  const body = {
    ...flat,
    ok: false,
    authed_user: flat,
    enterprise: { id: value, name: value },
    team: { id: value, name: value },
    Resources: [flat, flat],
  };
  return JSON.stringify(body).slice(0, MIB);
}

const slashRun = (n: number) => `https://acme.example.com/${'/'.repeat(n)}x`;
const scopeList = (n: number) => 'read:tickets '.repeat(Math.floor(n / 13));
const users = Math.floor(MIB / 24);

const HOSTILE: Record<string, string> = {
  'slash runs in every field': everyField(slashRun),
  'slash run ending the answer': `{"auth_url":"${slashRun(MIB - 64)}"}`,
  'long strings in every field': everyField((n) => 'a'.repeat(n)),
  'one 1 MiB access token': `{"access_token":"${'A'.repeat(MIB - 64)}","scope":"read:tickets"}`,
  'huge scope list': `{"access_token":"t","scope":"${scopeList(MIB - 8192)}","authed_user":{"access_token":"t","scope":"${scopeList(4096)}"}}`,
  'huge user list':
    `{"Resources":[${Array.from({ length: users }, (_, i) => `{"id":"u${i % 1000}"}`).join(',')}]}`.slice(
      0,
      MIB,
    ),
  'arrays nested 512 Ki deep': `${'['.repeat(MIB / 2)}${']'.repeat(MIB / 2)}`,
  'objects nested deep': `${'{"error":'.repeat(MIB / 10)}1${'}'.repeat(MIB / 10)}`,
  'escape runs': `{"error":"${'\\\\\\"'.repeat(MIB / 4 - 8)}"}`,
  'not JSON: slashes': '/'.repeat(MIB),
  'not JSON: brackets in a string that never closes': `"${'['.repeat(MIB - 2)}`,
};
const STATUSES = [200, 400, 401, 500];

/** One hook of a vendor that reads answers, as a call on a context. */
interface Hook {
  name: string;
  run(ctx: VendorContext): Promise<unknown>;
}

const client = { clientId: 'client-id', clientSecret: 'client-secret' };
const attempt = {
  resumed: true,
  markSent: async () => undefined,
  markNotSent: async () => undefined,
  reference: 'tether-job-hostile',
  madeEarlier: null,
  recordMade: async () => undefined,
};

/**
 * Inputs for each provisioning operation, by name, each taking its own path through the vendor's answers: an
 * operation without one fails the test below, so a new operation is fed hostile answers as soon as it lands.
 */
const OPERATION_INPUTS: Record<string, unknown[]> = {
  create_user: [{ userName: 'ada@example.com', externalId: 'hr-1', displayName: 'Ada' }],
  update_user: [{ user: { userName: 'ada@example.com' }, title: 'Engineer' }],
  deactivate_user: [{ user: { externalId: 'hr-1' } }],
  reactivate_user: [{ user: { userName: 'ada@example.com' } }],
  find_user: [{ email: 'ada@example.com' }],
  create_request: [
    {
      title: 'New hire',
      category: 'Onboarding',
      type: 'Service Request',
      priority: 2,
      location: 'Remote',
      customer: { email: 'ada@example.com' },
      customFields: { 'Laptop model': 'MacBook Pro 14' },
    },
  ],
  // By email: the user lookup's answer; by id: the created ticket's.
  create_ticket: [
    { summary: 'New hire', ticketTypeId: 3, user: { email: 'ada@example.com' } },
    { summary: 'New hire', ticketTypeId: 3, user: { id: 10 }, assets: [{ id: 501 }] },
  ],
  create_end_user: [{ firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', organizationId: 1 }],
  delete_end_user: [{ user: { email: 'ada@example.com' } }, { user: { id: 7 } }],
  find_end_user: [{ email: 'ada@example.com' }],
};

function hooksOf(vendor: VendorDefinition): Hook[] {
  const hooks: Hook[] = [
    { name: 'verifyScopes', run: (ctx) => verifyScopes(vendor, ctx, 'access-token', null, 'full') },
  ];
  const auth = vendor.auth;
  if (auth.kind === 'oauth2_client_credentials') {
    hooks.push({ name: 'auth.tokenUrl', run: async (ctx) => auth.tokenUrl(ctx) });
    hooks.push({ name: 'grant', run: (ctx) => grantClientCredentials(vendor, auth, ctx, client) });
  }
  if (auth.kind === 'oauth2_install') {
    hooks.push({
      name: 'auth.exchangeCode',
      run: (ctx) => auth.exchangeCode(ctx, client, { code: 'code', redirectUri: 'https://t.example/cb' }),
    });
    hooks.push({ name: 'auth.refreshToken', run: (ctx) => auth.refreshToken(ctx, client, 'refresh') });
  }
  const revoke = vendor.revoke;
  if (revoke.supported) {
    hooks.push({
      name: 'revoke',
      run: (ctx) => revoke.revoke(ctx, { ...client, token: 'static-token' }, 'access-token'),
    });
  }
  for (const op of vendor.operations ?? []) hooks.push(...operationHooks(vendor, op));
  return hooks;
}

function operationHooks(vendor: VendorDefinition, op: OperationSpec): Hook[] {
  const inputs = OPERATION_INPUTS[op.name];
  // Thrown here, not in a hook: a hook that fails before any request is not counted as a run.
  if (!inputs) throw new Error(`add an input for ${vendor.id}'s operation ${op.name} to OPERATION_INPUTS`);
  return inputs.map((input, i) => ({
    name: `operation ${op.name} (input ${i + 1})`,
    run: (ctx) => op.run(ctx, 'access-token', op.input.parse(input), attempt),
  }));
}

/** Answers request number `hostileAt` of a call with `text`, every other one with a benign `{}`. */
function answering(text: string, status: number, hostileAt: number): VendorHttp & { calls: number } {
  const http = {
    calls: 0,
    async send(_req: VendorRequest): Promise<VendorResponse> {
      const at = http.calls++;
      if (at !== hostileAt) return { status: 200, headers: {}, text: '{}' };
      return { status, headers: { 'content-type': 'application/json' }, text };
    },
  };
  return http;
}

function longestString(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null || depth > 8) return 0;
  return Math.max(0, ...Object.values(value).map((v) => longestString(v, depth + 1)));
}

interface Outcome {
  ms: number;
  problem?: string;
}

/** Runs the hook, timing it; a problem is anything but a vendor error or a bounded result. */
async function feed(hook: Hook, ctx: VendorContext): Promise<Outcome> {
  const started = performance.now();
  try {
    const result = await hook.run(ctx);
    const ms = performance.now() - started;
    const longest = longestString(result);
    return longest > LONGEST_FIELD ? { ms, problem: `returned a string of ${longest} characters` } : { ms };
  } catch (err) {
    const ms = performance.now() - started;
    if (!(err instanceof VendorError) && !(err instanceof OperationRefused)) {
      return { ms, problem: `threw ${String(err).slice(0, 200)}` };
    }
    if (err.message.length > 4096)
      return { ms, problem: `an error message of ${err.message.length} characters` };
    return { ms };
  }
}

const table = vendors.map((vendor) => [vendor.id, vendor] as const);

describe.each(table)('%s', (_id, vendor) => {
  const instanceUrl = 'https://acme.example.com';

  test.each(Object.keys(HOSTILE))('every hook reading answers survives: %s', async (pattern) => {
    const text = HOSTILE[pattern]!;
    expect(text.length).toBeLessThanOrEqual(MIB);
    const failures: string[] = [];
    let runs = 0;
    for (const hook of hooksOf(vendor)) {
      for (const status of STATUSES) {
        // Request 0, 1, 2… of the hook gets the hostile answer, until the hook makes no such request.
        for (let hostileAt = 0; hostileAt < 12; hostileAt++) {
          const http = answering(text, status, hostileAt);
          const outcome = await feed(hook, { instanceUrl, settings: {}, http });
          if (http.calls <= hostileAt) break;
          runs++;
          const where = `${hook.name}, HTTP ${status} on request ${hostileAt + 1}`;
          if (outcome.problem) failures.push(`${where}: ${outcome.problem}`);
          if (outcome.ms > BOUND_MS) failures.push(`${where}: took ${Math.round(outcome.ms)} ms`);
        }
      }
      // The vendor's error-reading hooks, on the same answer, as any failed call reads it.
      const started = performance.now();
      for (const status of STATUSES) errorDetail(vendor, { status, headers: {}, text });
      const ms = performance.now() - started;
      if (ms > BOUND_MS * STATUSES.length) failures.push(`errorDetail took ${Math.round(ms)} ms`);
    }
    expect(failures).toEqual([]);
    // The hostile answer was read: verifyScopes alone makes a request per status.
    expect(runs).toBeGreaterThanOrEqual(STATUSES.length);
  });

  test('a 1 MiB instance URL as a person might paste it is judged in bounded time', () => {
    const policy = { allowInsecureLoopback: false };
    for (const raw of [
      slashRun(MIB - 64),
      `acme.example.com${'/'.repeat(MIB)}x`,
      `https://acme.example.com/${'api/'.repeat(MIB / 4)}`,
      `${'a'.repeat(MIB)}://x`,
    ]) {
      const started = performance.now();
      expect(normaliseInstanceUrl(vendor, raw, policy)).toEqual({ error: expect.any(String) });
      expect(performance.now() - started).toBeLessThan(BOUND_MS);
    }
  });
});
