// What the end user can do on the connect page, each bound to the session's one connection:
//  - submit: the first submit links the connection (tags copied from the session); a later one corrects it.
//    A connection that does not work yet gets the corrected fields in place (what was left empty keeps what
//    was entered before) and is checked again; a working one (reconnecting) is rotated, so wrong new
//    credentials never replace working ones.
//  - check again (after granting permissions), install again (OAuth installs), finish.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { findVendor, getVendor, type VendorDefinition } from '../../catalog';
import type { ConnectSession, Connection, Prisma } from '../../platform/db';
import { normaliseInstanceUrl } from '../../vendor-kit/instance-url';
import type { UrlPolicy } from '../../vendor-kit/url-policy';
import { refreshNowUpdate, rotateCredentialsUpdate } from '../../workflows/messages';
import type { AppDeps } from '../app';
import { sendCommand, startLifecycle } from '../commands';
import { ApiError, validationError } from '../errors';
import { startInstall } from '../oauth-install';
import { MAX_COMMAND_WAIT_SECONDS } from '../schemas';
import type { TenantData } from '../tenant-data';
import type { AttemptResult, ConnectProgress } from './outcome';
import { returnUrlWith } from './return-urls';
import type { ConnectAttemptSchema } from './schemas';

type Attempt = z.infer<typeof ConnectAttemptSchema>;

/** What the actions need: the API's dependencies and its tenant-scoped data. */
export interface ConnectContext {
  deps: AppDeps;
  data: TenantData;
}
const USABLE = ['active', 'expiring', 'degraded'];
const CLOSED = ['revoking', 'revoked', 'paused'];

/**
 * The instance URL as the API will store it: the vendor's normalisation as for POST /v1/connections
 * (an address typed without a scheme, acme.haloitsm.com, is read as https).
 */
export function resolveInstanceUrl(
  vendor: VendorDefinition,
  raw: string | undefined,
  settings: Record<string, unknown>,
  policy: UrlPolicy,
): { url: string } | { error: string } {
  const given = vendor.instanceUrl.fixed ? '' : (raw ?? '').trim();
  if (!given) {
    let fallback: string | undefined;
    try {
      fallback = vendor.hooks?.defaultInstanceUrl?.(settings) ?? vendor.instanceUrl.default;
    } catch {
      return { error: 'choose valid settings first: the address depends on them' };
    }
    return fallback ? { url: fallback } : { error: `enter your ${vendor.instanceUrl.label}` };
  }
  return normaliseInstanceUrl(vendor, given, policy);
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationError(
    result.error.issues.map((i) => ({
      field: ['body', field, ...i.path.map(String)].join('.'),
      message: i.message,
    })),
  );
}

function instanceUrlOrFail(
  vendor: VendorDefinition,
  body: Attempt,
  settings: Record<string, unknown>,
  policy: UrlPolicy,
) {
  const resolved = resolveInstanceUrl(vendor, body.instanceUrl, settings, policy);
  if ('error' in resolved) throw validationError([{ field: 'body.instanceUrl', message: resolved.error }]);
  return resolved.url;
}

/** JSON with sorted keys, to compare settings whatever order their fields came in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const filledIn = (credentials: Record<string, string>) =>
  Object.fromEntries(Object.entries(credentials).filter(([, value]) => value.trim() !== ''));

/** What the end user submitted, applied to the session's connection. Returns the consent page for installs. */
export async function submitAttempt(
  ctx: ConnectContext,
  session: ConnectSession,
  connection: Connection | null,
  body: Attempt,
): Promise<{ authorizeUrl?: string }> {
  if (!connection) return linkConnection(ctx, session, body);
  if (body.vendor !== connection.vendor) {
    throw validationError([{ field: 'body.vendor', message: `this session connects ${connection.vendor}` }]);
  }
  if (CLOSED.includes(connection.status)) {
    throw new ApiError(409, 'conflict', `the connection is ${connection.status}`);
  }
  return USABLE.includes(connection.status)
    ? rotateWorkingConnection(ctx, session, connection, body)
    : correctConnection(ctx, session, connection, body);
}

async function linkConnection(ctx: ConnectContext, session: ConnectSession, body: Attempt) {
  const { deps, data } = ctx;
  const vendor = findVendor(body.vendor);
  if (!vendor || !session.vendors.includes(vendor.id)) {
    throw validationError([{ field: 'body.vendor', message: 'not offered by this connect link' }]);
  }
  const settings = parsed(vendor.settings, body.settings ?? {}, 'settings');
  const credentials = parsed(vendor.credentials, body.credentials, 'credentials') as Record<string, string>;
  const instanceUrl = instanceUrlOrFail(vendor, body, settings, deps.urlPolicy);
  const id = randomUUID();
  // Within the tenant's connection quota, and claimed by the session in the same transaction. (Null is
  // only for a race on an Idempotency-Key, and there is none here.)
  const connection = (await data.connections.create({
    id,
    tenantId: session.tenantId,
    vendor: vendor.id,
    instanceUrl,
    name: null,
    tags: session.tags as Record<string, string>,
    settings: body.settings ?? {},
    sealedCredentials: deps.secrets.sealCredentials(id, credentials),
    connectSessionId: session.id,
    actor: { kind: 'connect_session', sessionId: session.id },
  }))!;
  await startLifecycle(deps, connection);
  return vendor.auth.kind === 'oauth2_install'
    ? { authorizeUrl: await install(ctx, session, connection) }
    : {};
}

/** A connection that does not work yet: correct it in place, keeping what the user left empty. */
async function correctConnection(
  ctx: ConnectContext,
  session: ConnectSession,
  connection: Connection,
  body: Attempt,
) {
  const { deps, data } = ctx;
  const vendor = getVendor(connection.vendor);
  const storedSettings = (connection.settings ?? {}) as Record<string, unknown>;
  // Left out: kept as stored.
  const newSettings = body.settings ?? storedSettings;
  const settings = parsed(vendor.settings, newSettings, 'settings');
  const instanceUrl =
    body.instanceUrl === undefined
      ? connection.instanceUrl
      : instanceUrlOrFail(vendor, body, settings, deps.urlPolicy);
  const changed: string[] = [];
  if (instanceUrl !== connection.instanceUrl) changed.push('instanceUrl');
  if (canonicalJson(settings) !== canonicalJson(parsed(vendor.settings, storedSettings, 'settings'))) {
    changed.push('settings');
  }
  if (session.reconnect && changed.length > 0) {
    throw validationError([
      {
        field: `body.${changed[0]}`,
        message: 'reconnecting keeps the address and settings; only credentials change',
      },
    ]);
  }
  const given = filledIn(body.credentials);
  const stored = (await deps.secrets.readCredentials(connection.id)) ?? {};
  const credentials = parsed(vendor.credentials, { ...stored, ...given }, 'credentials') as Record<
    string,
    string
  >;
  changed.push(...Object.keys(given).map((field) => `credentials.${field}`));

  await data.connectSessions.correct(session, connection, {
    instanceUrl,
    settings: newSettings,
    sealedCredentials: deps.secrets.sealCredentials(connection.id, credentials),
    changed,
  });
  if (vendor.auth.kind === 'oauth2_install') {
    return { authorizeUrl: await install(ctx, session, connection) };
  }
  await sendCommand(deps, connection, refreshNowUpdate, []);
  return {};
}

/** A working connection (reconnecting): the new credentials are verified before they replace the old ones. */
async function rotateWorkingConnection(
  ctx: ConnectContext,
  session: ConnectSession,
  connection: Connection,
  body: Attempt,
) {
  const { deps, data } = ctx;
  const vendor = getVendor(connection.vendor);
  if (vendor.auth.kind === 'oauth2_install') {
    throw new ApiError(409, 'conflict', `${vendor.name} is reconnected by installing the app again`);
  }
  if (!session.reconnect) throw new ApiError(409, 'already_connected', 'the connection works: finish');
  const given = filledIn(body.credentials);
  if (Object.keys(given).length === 0) {
    const first = vendor.credentials.keyof().options[0] as string;
    throw validationError([{ field: `body.credentials.${first}`, message: 'enter the new credentials' }]);
  }
  const stored = (await deps.secrets.readCredentials(connection.id)) ?? {};
  const credentials = parsed(vendor.credentials, { ...stored, ...given }, 'credentials') as Record<
    string,
    string
  >;
  const { secrets } = deps;
  await data.connectSessions.acted(session, connection.id);
  const rotationId = randomUUID();
  await secrets.stageCandidate(connection.id, rotationId, credentials);
  let result;
  try {
    result = await sendCommand(deps, connection, rotateCredentialsUpdate, [{ rotationId }], {
      resultWaitMs: MAX_COMMAND_WAIT_SECONDS * 1000,
    });
  } catch (err) {
    // Refused: nothing will verify the candidate. Not confirmed, or still verifying (503): the rotation
    // may run and needs it.
    if (err instanceof ApiError && err.statusCode === 409) {
      await secrets.discardCandidate(connection.id, rotationId);
    }
    throw err;
  }
  const attemptResult: AttemptResult =
    result.outcome === 'accepted'
      ? { outcome: 'accepted', mark: String(await data.connectSessions.latestEvent(connection.id)) }
      : {
          outcome: 'rejected',
          reason: result.reason,
          message: result.message,
          missingScopes: result.missingScopes,
          mark: String(await data.connectSessions.latestEvent(connection.id)),
        };
  await data.connectSessions.attemptResult(session.id, attemptResult as unknown as Prisma.InputJsonObject);
  return {};
}

/** Verify again now (after permissions were granted at the vendor). */
export async function checkAgain(
  { deps, data }: ConnectContext,
  session: ConnectSession,
  connection: Connection,
): Promise<void> {
  if (CLOSED.includes(connection.status)) {
    throw new ApiError(409, 'conflict', `the connection is ${connection.status}`);
  }
  await data.connectSessions.acted(session, connection.id);
  await sendCommand(deps, connection, refreshNowUpdate, []);
}

/** Start an install on the vendor's consent page; its callback sends the browser back to the page. */
export async function install(
  { deps, data }: ConnectContext,
  session: ConnectSession,
  connection: Connection,
): Promise<string> {
  const started = await startInstall(deps, data, connection, {
    kind: 'connect_session',
    sessionId: session.id,
  });
  await data.connectSessions.installStarted(session.id, started.stateHash);
  return started.authorizeUrl;
}

/** End the session (its token dies) and say where the end user goes with what result. */
export async function finishSession(
  { data }: ConnectContext,
  session: ConnectSession,
  connection: Connection | null,
  progress: ConnectProgress,
) {
  const outcome = progress.outcome === 'not_started' ? 'cancelled' : progress.outcome;
  if (!(await data.connectSessions.end(session.id, outcome))) {
    throw new ApiError(401, 'session_completed', 'this connect link was already used');
  }
  const connectionId = connection?.id ?? null;
  const status = connection?.status ?? null;
  return {
    outcome,
    status,
    connectionId,
    redirectUrl: session.returnUrl
      ? returnUrlWith(session.returnUrl, {
          connection_id: connectionId,
          outcome,
          status,
          session_id: session.id,
        })
      : null,
    targetOrigin: session.returnUrl ? new URL(session.returnUrl).origin : null,
    message: {
      type: 'tether.connect.finished' as const,
      sessionId: session.id,
      connectionId,
      outcome,
      status,
    },
  };
}
