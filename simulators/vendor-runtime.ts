// Per-vendor state and the request pipeline every vendor endpoint runs through:
// identify the caller → count → faults → vendor admission (rate limits) → demo scenario → vendor handler.
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { CallStats } from './call-stats';
import type { Fault, InstallTarget } from './control-input';
import { ExpiringMap } from './expiring-map';
import { FaultList, type FaultEffect } from './faults';
import { RequestLog } from './request-log';
import { clientCredentials } from './request-credentials';
import type { RouteKind } from './route-kind';
import { parseScenario, type Scenario, type ScenarioKind } from './scenario';
import { NO_SCOPES, type ScopeSet } from './scopes';
import type { AuthFailure, TokenChain, TokenRecord } from './token-record';
import { SlidingWindowLimiter } from './sliding-window-limiter';

/** How many recent requests each vendor keeps for the control API. */
const REQUEST_LOG_SIZE = 200;
/** Expired tokens stay known this long, so callers get the "expired" error before the "unknown" one. */
const KEEP_EXPIRED_MS = 30_000;
/** demo-rate-limited and demo-flaky fail this many credential requests, then behave. */
const FAILING_GRANT_REQUESTS = 2;

/** Who is calling, resolved before faults and scenarios apply. */
export interface Caller {
  /** The client_id or token presented; undefined when none was. */
  credential?: string;
  /** The client_id, the static token, or for issued tokens the client they were issued to. */
  subject?: string;
  scenario?: Scenario;
  /** The token presented, when the simulator knows it. */
  token?: TokenRecord;
  /** This request is how the subject gets credentials: a token request, or any call with a static token. */
  obtainsCredentials: boolean;
}

export interface Call extends Caller {
  /** Scopes that drop_scopes faults take away for this request. */
  droppedScopes: ScopeSet;
  /** A trickle fault: the answer body leaves slowly. */
  trickle?: FaultEffect['trickle'];
  /** How long delay_answer faults hold the answer after the handler ran. */
  answerDelayMs: number;
}

/** The vendor's error body for an HTTP status. */
export type ErrorBody = (status: number, message: string) => unknown;

export interface RouteSpec {
  method: HTTPMethods | HTTPMethods[];
  /** Relative to the vendor prefix. */
  url: string;
  kind: RouteKind;
  identify(request: FastifyRequest): Caller;
  /** Error body for statuses this endpoint answers because of a fault or a scenario. */
  errorBody: ErrorBody;
  handle(call: Call, request: FastifyRequest, reply: FastifyReply): unknown;
}

/** A vendor-wide refusal, such as a rate limit. */
export interface Refusal {
  status: number;
  retryAfterSeconds?: number;
  body: unknown;
}

interface SubjectState {
  /** Credential requests since start or reset: drives demo-rate-limited and demo-flaky. */
  grantRequests: number;
  /** Tokens with a lower seq were revoked by revokeAll. */
  revokedBefore: number;
}

export class VendorRuntime {
  /** Issued tokens by lookup key (the token, or for JWTs their signature). */
  readonly tokens = new ExpiringMap<TokenRecord>(KEEP_EXPIRED_MS);
  readonly faults = new FaultList();
  readonly stats: CallStats;
  readonly requests = new RequestLog(REQUEST_LOG_SIZE);
  /** Vendor-wide admission control, consulted after faults (Halo's rate limit). */
  admission?: (call: Call, kind: RouteKind) => Refusal | undefined;

  /** Where installs land, by client_id or '*' (the consent page's choice; Slack). */
  private readonly installTargets = new Map<string, InstallTarget>();
  private readonly staticTokens = new Map<string, TokenRecord>();
  private readonly subjects = new Map<string, SubjectState>();
  private readonly resetHooks: Array<() => void> = [];
  private revokedBefore = 0;
  private nextSeq = 1;

  constructor(
    readonly name: string,
    private readonly scenarios: readonly ScenarioKind[],
  ) {
    this.stats = new CallStats(name);
  }

  scenarioOf(credential: string): Scenario | undefined {
    return parseScenario(credential, this.scenarios);
  }

  /** Registers a vendor endpoint behind the shared pipeline. */
  route(app: FastifyInstance, spec: RouteSpec): void {
    const arrivals = new WeakMap<FastifyRequest, number>();
    app.route({
      method: spec.method,
      url: spec.url,
      // Before the body is read: when the request's headers arrived.
      onRequest: (request, _reply, done) => {
        arrivals.set(request, Date.now());
        done();
      },
      handler: async (request, reply) => {
        this.requests.record({
          method: request.method,
          url: request.url,
          headers: { ...request.headers },
          receivedAt: arrivals.get(request) ?? Date.now(),
        });
        const caller = spec.identify(request);
        const endpoint = `${request.method} ${spec.url}`;
        let result: unknown;
        try {
          const call = await this.admit(caller, spec, reply, endpoint);
          result = call ? await spec.handle(call, request, reply) : reply;
          if (call && call.answerDelayMs > 0) await sleep(call.answerDelayMs);
          if (call?.trickle && !reply.sent) result = trickle(reply, result, call.trickle);
        } catch (error) {
          this.stats.record(caller.subject, spec.kind, endpoint, 500);
          throw error;
        }
        this.stats.record(caller.subject, spec.kind, endpoint, reply.statusCode);
        return result;
      },
    });
  }

  /** Caller of a token endpoint: client credentials from the body or HTTP Basic. */
  clientCaller(request: FastifyRequest): Caller {
    const { clientId } = clientCredentials(request);
    if (clientId === undefined) return { obtainsCredentials: true };
    return {
      credential: clientId,
      subject: clientId,
      scenario: this.scenarioOf(clientId),
      obtainsCredentials: true,
    };
  }

  /**
   * Caller presenting a token this simulator issued. `keyOf` maps it to its storage key (InvGate: the
   * verified JWT signature), or to undefined when it cannot be one of ours.
   */
  issuedTokenCaller(
    credential: string | undefined,
    keyOf: (token: string) => string | undefined = (token) => token,
  ): Caller {
    const key = credential === undefined ? undefined : keyOf(credential);
    const token = key === undefined ? undefined : this.tokens.get(key);
    if (!token) return { credential, obtainsCredentials: false };
    return { credential, subject: token.subject, scenario: token.scenario, token, obtainsCredentials: false };
  }

  /**
   * Caller presenting a static token (Promapp, Slack's pasted tokens). Demo tokens get a record on first use,
   * so demo-ttl-<n> counts from then; other tokens stay unknown.
   */
  staticTokenCaller(
    credential: string | undefined,
    scopesOf: (scenario: Scenario) => ScopeSet,
    /** Vendor token prefix before the scenario id (Slack: 'xoxp-'). */
    prefix = '',
  ): Caller {
    if (credential === undefined) return { obtainsCredentials: true };
    let token = this.staticTokens.get(credential);
    if (!token) {
      const scenario = credential.startsWith(prefix)
        ? this.scenarioOf(credential.slice(prefix.length))
        : undefined;
      if (!scenario) return { credential, subject: credential, obtainsCredentials: true };
      const ttl = scenario.kind === 'ttl' ? scenario.seconds : undefined;
      token = {
        subject: credential,
        scenario,
        scopes: scopesOf(scenario),
        seq: 0,
        expiresAt: ttl === undefined ? Infinity : Date.now() + ttl * 1000,
        revoked: false,
      };
      this.staticTokens.set(credential, token);
    }
    return { credential, subject: credential, scenario: token.scenario, token, obtainsCredentials: true };
  }

  issue(
    key: string,
    grant: {
      subject: string;
      scenario: Scenario;
      scopes: ScopeSet;
      lifetimeSeconds?: number;
      chain?: TokenChain;
    },
  ): TokenRecord {
    const record: TokenRecord = {
      subject: grant.subject,
      scenario: grant.scenario,
      scopes: grant.scopes,
      seq: this.nextSeq++,
      expiresAt: grant.lifetimeSeconds === undefined ? Infinity : Date.now() + grant.lifetimeSeconds * 1000,
      revoked: false,
      chain: grant.chain,
    };
    this.tokens.set(key, record);
    return record;
  }

  /** Why the call's token does not work, or undefined when it does. */
  authenticate(call: Caller): AuthFailure | undefined {
    if (call.credential === undefined) return 'missing';
    const token = call.token;
    if (!token) return 'invalid';
    if (this.isRevoked(token)) return 'revoked';
    if (Date.now() >= token.expiresAt) return 'expired';
    return undefined;
  }

  hasScope(call: Call, scope: string): boolean {
    return call.token !== undefined && call.token.scopes.has(scope) && !call.droppedScopes.has(scope);
  }

  /** Revokes every token issued so far to `match` (a client_id or static token), or to everyone with '*'. */
  revokeAll(match: string): void {
    if (match === '*') this.revokedBefore = this.nextSeq;
    else this.subjectState(match).revokedBefore = this.nextSeq;
  }

  setInstallTarget(match: string, target: InstallTarget | null): void {
    if (target) this.installTargets.set(match, target);
    else this.installTargets.delete(match);
  }

  /** The install target set for this client, else the one for '*', else none (the vendor's default). */
  installTargetOf(clientId: string): InstallTarget | undefined {
    return this.installTargets.get(clientId) ?? this.installTargets.get('*');
  }

  onReset(hook: () => void): void {
    this.resetHooks.push(hook);
  }

  /** The vendor's rate limits by name, cleared on reset; the control API reports what each observed. */
  readonly limiters = new Map<string, SlidingWindowLimiter>();

  limiter(name: string, limit: { requests: number; windowSeconds: number }): SlidingWindowLimiter {
    const limiter = new SlidingWindowLimiter(limit.requests, limit.windowSeconds * 1000);
    this.limiters.set(name, limiter);
    this.onReset(() => limiter.clear());
    return limiter;
  }

  reset(): void {
    this.tokens.clear();
    this.staticTokens.clear();
    this.subjects.clear();
    this.faults.clear();
    this.installTargets.clear();
    this.stats.clear();
    this.requests.clear();
    this.revokedBefore = 0;
    for (const hook of this.resetHooks) hook();
  }

  /** Revoked one by one, through its chain, by its scenario, or by a revokeAll after it was issued. */
  isRevoked(token: TokenRecord): boolean {
    return (
      token.revoked ||
      token.chain?.revoked === true ||
      token.scenario.kind === 'revoked' ||
      token.seq < this.revokedBefore ||
      token.seq < (this.subjects.get(token.subject)?.revokedBefore ?? 0)
    );
  }

  private subjectState(subject: string): SubjectState {
    let state = this.subjects.get(subject);
    if (!state) {
      state = { grantRequests: 0, revokedBefore: 0 };
      this.subjects.set(subject, state);
    }
    return state;
  }

  /** Runs faults, admission and scenario; answers and returns undefined when one of them decides. */
  private async admit(
    caller: Caller,
    spec: RouteSpec,
    reply: FastifyReply,
    endpoint: string,
  ): Promise<Call | undefined> {
    const grantRequest =
      caller.obtainsCredentials && caller.subject !== undefined && caller.scenario !== undefined
        ? ++this.subjectState(caller.subject).grantRequests
        : 0;
    const effect = this.faults.take(caller.subject, spec.kind, endpoint);
    const call: Call = {
      ...caller,
      droppedScopes: effect && effect.droppedScopes.length > 0 ? new Set(effect.droppedScopes) : NO_SCOPES,
      trickle: effect?.trickle,
      answerDelayMs: effect?.answerDelayMs ?? 0,
    };
    if (effect) {
      if (effect.revokeTokens && caller.subject !== undefined) this.revokeAll(caller.subject);
      if (effect.delayMs > 0) await sleep(effect.delayMs);
      if (effect.answer) {
        answerFault(effect.answer, spec, reply);
        return undefined;
      }
    }
    const refusal = this.admission?.(call, spec.kind);
    if (refusal) {
      refuse(reply, refusal.status, refusal.body, refusal.retryAfterSeconds);
      return undefined;
    }
    return (await playScenario(caller.scenario, grantRequest, spec, reply)) ? undefined : call;
  }
}

/** Scenario behaviour shared by all vendors; true when it answered. */
async function playScenario(
  scenario: Scenario | undefined,
  grantRequest: number,
  spec: RouteSpec,
  reply: FastifyReply,
): Promise<boolean> {
  if (!scenario) return false;
  switch (scenario.kind) {
    case 'slow':
      await sleep(scenario.ms);
      return false;
    case 'down':
      refuse(reply, 503, spec.errorBody(503, message(503)));
      return true;
    case 'rate-limited':
      if (grantRequest === 0 || grantRequest > FAILING_GRANT_REQUESTS) return false;
      refuse(reply, 429, spec.errorBody(429, message(429)), 1);
      return true;
    case 'flaky': {
      if (grantRequest === 0 || grantRequest > FAILING_GRANT_REQUESTS) return false;
      const status = grantRequest === 1 ? 500 : 503;
      refuse(reply, status, spec.errorBody(status, message(status)));
      return true;
    }
    case 'malformed':
      if (grantRequest === 0) return false;
      sendMalformed(reply, spec.kind);
      return true;
    default:
      return false;
  }
}

function answerFault(
  fault: Extract<Fault, { kind: 'status' | 'malformed' | 'html' }>,
  spec: RouteSpec,
  reply: FastifyReply,
) {
  if (fault.kind === 'malformed') sendMalformed(reply, spec.kind);
  else if (fault.kind === 'html') sendSignInPage(reply);
  else {
    const body = fault.body !== undefined ? fault.body : spec.errorBody(fault.status, message(fault.status));
    refuse(reply, fault.status, body, fault.retryAfterSeconds);
  }
}

/** The handler's answer, serialised as JSON unless it is text already, sent a piece at a time. */
function trickle(
  reply: FastifyReply,
  result: unknown,
  pace: NonNullable<FaultEffect['trickle']>,
): FastifyReply {
  const bytes = Buffer.from(typeof result === 'string' ? result : JSON.stringify(result));
  if (!reply.hasHeader('content-type')) reply.type('application/json; charset=utf-8');
  async function* pieces() {
    for (let at = 0; at < bytes.length; at += pace.chunkBytes) {
      if (at > 0) await sleep(pace.intervalMs);
      yield bytes.subarray(at, at + pace.chunkBytes);
    }
  }
  return reply.send(Readable.from(pieces()));
}

function message(status: number): string {
  return STATUS_CODES[status] ?? `HTTP ${status}`;
}

function refuse(reply: FastifyReply, status: number, body: unknown, retryAfterSeconds?: number): void {
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
  reply.code(status).send(body);
}

/** HTTP 200 with a sign-in page, as a website or an SSO proxy in front of the real API answers. */
function sendSignInPage(reply: FastifyReply): void {
  const page =
    '<!DOCTYPE html><html><head><title>Sign in</title></head><body><form method="post" action="/login">' +
    '<input name="username"><input name="password" type="password"><button>Sign in</button></form></body></html>';
  reply.code(200).type('text/html; charset=utf-8').send(page);
}

/** HTTP 200 with JSON cut off mid-value: what a crashing proxy or a buggy vendor sends. */
function sendMalformed(reply: FastifyReply, kind: RouteKind): void {
  const body =
    kind === 'token'
      ? '{"access_token":"eyJhbGciOiJIUzI1NiJ9.eyJzY29wZXMiOlsi'
      : '{"data":[{"id":1,"name":"Simul';
  reply.code(200).type('application/json; charset=utf-8').send(body);
}
