// Vendor rate limits as budgets every process shares (platform/rate-budget.ts keeps them in PostgreSQL): a
// request takes a slot in each budget it falls under before it is sent, so workers, API replicas, jobs,
// refreshes and the proxy together stay under the vendor's limit instead of each finding it by 429s.
import type { VendorContext, VendorDefinition } from './definition';
import type { VendorHttp, VendorRequest } from './vendor-http';

/** At most `requests` in any `windowSeconds`, of which up to `burst` may go at once after a quiet spell. */
export interface RateLimit {
  requests: number;
  windowSeconds: number;
  burst: number;
}

/** One of a vendor's limits, per connection: which of its requests count against it. */
export interface RateLimitRule {
  /** Names the budget (`connection:<id>:<class>`) and the override variable's entry (`<vendor>.<class>`). */
  class: string;
  limit: RateLimit;
  /** What the vendor documents, for the README and OpenAPI readers. */
  description: string;
  appliesTo(request: RequestLine, ctx: VendorContext): boolean;
}

export interface RequestLine {
  method: string;
  url: string;
  /** A token request (client credentials, refresh): counted against its host's token budget too. */
  token: boolean;
}

/** Every request of the connection: the class `<vendor>.requests` configuration can limit on any vendor. */
export const ALL_REQUESTS = 'requests';
/** Token requests per vendor host, across connections: spreads refreshes after outages and restarts. */
export const TOKEN_REQUESTS = 'token_requests';

export function everyRequest(limit: RateLimit, description: string): RateLimitRule {
  return { class: ALL_REQUESTS, limit, description, appliesTo: () => true };
}

/** One budget a request takes a slot in. */
export interface BudgetSlot {
  key: string;
  class: string;
  limit: RateLimit;
}

export interface BudgetAnswer {
  /** The slot is taken: send after waitMs. Not: nothing taken, the earliest slot is further than asked. */
  granted: boolean;
  /** From when the answer arrived; negative: the slot was already that far past then. */
  waitMs: number;
  /** The owner came back too late for the slot it held: given up, this answer is about a fresh one. */
  missed?: boolean;
}

/**
 * How late a request may leave after its slot. A later one would go out together with the requests of the
 * slots after it (a busy worker's late timer, a stalled event loop), so it takes a fresh slot instead; the
 * budgets are spaced so that requests this late still keep every window under its limit (gcraOf).
 */
export const SLOT_LATENESS_MS = 100;
/** Slots one request takes at most when each of its waits in place overran; then it waits as deferred. */
const MAX_TAKES = 3;

export interface BudgetRequest {
  slots: BudgetSlot[];
  /** Take the slot only if it is at most this far away. */
  reserveWithinMs: number;
  /**
   * Who waits for a slot on a timer elsewhere (`job:<id>`): a slot further than holdAfterMs is kept for the
   * owner's next attempt, which then takes it instead of a new one.
   */
  owner?: { id: string; holdAfterMs: number };
}

export interface RateBudget {
  take(request: BudgetRequest): Promise<BudgetAnswer>;
}

/** The limits in force: the catalog's, with the deployment's overrides (TETHER_VENDOR_RATE_LIMITS). */
export interface RateLimits {
  rules(vendor: VendorDefinition): readonly RateLimitRule[];
  /** Token requests per vendor host (TETHER_TOKEN_REQUESTS_PER_HOST). */
  tokenRequestsPerHost: RateLimit;
}

/** The budgets a request of this connection takes a slot in, sorted by key (the store locks in that order). */
export function budgetSlots(
  limits: RateLimits,
  vendor: VendorDefinition,
  connectionId: string,
  ctx: VendorContext,
  request: RequestLine,
): BudgetSlot[] {
  const slots: BudgetSlot[] = limits
    .rules(vendor)
    .filter((rule) => rule.appliesTo(request, ctx))
    .map((rule) => ({
      key: `connection:${connectionId}:${rule.class}`,
      class: rule.class,
      limit: rule.limit,
    }));
  if (request.token) {
    const host = new URL(request.url).host;
    slots.push({
      key: `host:${host}:${TOKEN_REQUESTS}`,
      class: TOKEN_REQUESTS,
      limit: limits.tokenRequestsPerHost,
    });
  }
  return slots.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function requestLine(request: VendorRequest): RequestLine {
  return { method: request.method, url: request.url, token: request.form?.grant_type !== undefined };
}

/**
 * The connection's budget is out for longer than the caller waits in place: retry after retryAfterMs (a
 * self-imposed wait, not a vendor failure). `reserved`: the slot is kept for the owner's next attempt.
 */
export class BudgetExhausted extends Error {
  constructor(
    readonly budgetClass: string,
    readonly retryAfterMs: number,
    readonly reserved: boolean,
  ) {
    super(`the shared ${budgetClass} budget is out: next slot in ${Math.ceil(retryAfterMs / 1000)} s`);
    this.name = 'BudgetExhausted';
  }
}

export interface BudgetedHttpOptions {
  budget: RateBudget;
  limits: RateLimits;
  vendor: VendorDefinition;
  connectionId: string;
  /** The context the rules read (base URLs); its own http is not used. */
  ctx: VendorContext;
  /** Waits up to this long in place (a timer, nothing busy); longer ones throw BudgetExhausted. */
  inlineWaitMs: number;
  /** Slots up to this far ahead are taken and held for the owner; further ones are not taken. */
  horizonMs: number;
  /** Holds slots across attempts (`job:<id>`); without one a wait past inlineWaitMs takes nothing. */
  owner?: string;
  /**
   * Called for each request that had to wait: in place, or handed back as BudgetExhausted; and for each
   * slot it came too late for and gave up (missed).
   */
  onWait?(budgetClass: string, outcome: BudgetWaitOutcome): void;
}

export type BudgetWaitOutcome = 'inline' | 'deferred' | 'missed';

/**
 * Take a slot and wait for it in place when it is within inlineWaitMs. A wait that overran by more than
 * SLOT_LATENESS_MS (or an answer that arrived that late) takes a fresh slot, within what is left of
 * inlineWaitMs and at most MAX_TAKES in all. `ready`: send now; otherwise the answer to hand back to the
 * caller (not granted, or granted further away than it waits in place: a held slot).
 */
export async function waitForSlot(
  budget: RateBudget,
  request: BudgetRequest,
  inlineWaitMs: number,
  onWait?: (outcome: BudgetWaitOutcome) => void,
): Promise<{ ready: true } | { ready: false; answer: BudgetAnswer }> {
  const started = Date.now();
  for (let takes = 1; ; takes++) {
    const inPlaceMs = Math.max(0, inlineWaitMs - (Date.now() - started));
    const answer = await budget.take(
      request.owner
        ? { ...request, owner: { ...request.owner, holdAfterMs: inPlaceMs } }
        : { ...request, reserveWithinMs: Math.min(request.reserveWithinMs, inPlaceMs) },
    );
    const slotAt = Date.now() + answer.waitMs;
    if (answer.missed) onWait?.('missed');
    if (!answer.granted || answer.waitMs > inPlaceMs) return { ready: false, answer };
    if (answer.waitMs > 0) {
      onWait?.('inline');
      await new Promise((resolve) => setTimeout(resolve, answer.waitMs));
    }
    if (Date.now() - slotAt <= SLOT_LATENESS_MS) return { ready: true };
    onWait?.('missed');
    if (takes === MAX_TAKES) return { ready: false, answer: { granted: false, waitMs: 0 } };
  }
}

/** The connection's VendorHttp, taking a slot in its budgets before each request. */
export function budgetedHttp(http: VendorHttp, options: BudgetedHttpOptions): VendorHttp {
  const { budget, limits, vendor, connectionId, ctx, inlineWaitMs, horizonMs, owner, onWait } = options;
  return {
    async send(request) {
      const slots = budgetSlots(limits, vendor, connectionId, ctx, requestLine(request));
      if (slots.length === 0) return http.send(request);
      const tightest = slots.length === 1 ? slots[0]!.class : slots.map((s) => s.class).join('+');
      const slot = await waitForSlot(
        budget,
        {
          slots,
          reserveWithinMs: owner ? horizonMs : inlineWaitMs,
          ...(owner ? { owner: { id: owner, holdAfterMs: inlineWaitMs } } : {}),
        },
        inlineWaitMs,
        (outcome) => onWait?.(tightest, outcome),
      );
      if (!slot.ready) {
        const { answer } = slot;
        onWait?.(tightest, 'deferred');
        // A held slot: come back inlineWaitMs early and wait the rest in place, so the request goes out at
        // its slot rather than one timer's and task's latency after it (one later than SLOT_LATENESS_MS
        // finds the slot given up, and takes another). A slot beyond the horizon was not taken: come back
        // when it is within reach.
        const retryAfterMs = !owner
          ? answer.waitMs
          : answer.granted
            ? answer.waitMs - inlineWaitMs
            : Math.max(inlineWaitMs, answer.waitMs - horizonMs);
        throw new BudgetExhausted(tightest, retryAfterMs, answer.granted);
      }
      return http.send(request);
    },
  };
}

/** Parse `<requests>/<seconds>[/<burst>]`, e.g. `600/60/20`; burst defaults to 1 (no burst). */
export function parseRateLimit(text: string): RateLimit | { error: string } {
  const match = /^(\d+)\/(\d+)s?(?:\/(\d+))?$/.exec(text.replace(/\s/g, ''));
  if (!match) return { error: `"${text}" is not <requests>/<seconds>[/<burst>]` };
  const limit = { requests: Number(match[1]), windowSeconds: Number(match[2]), burst: Number(match[3] ?? 1) };
  if (limit.requests < 2 || limit.windowSeconds < 1 || limit.burst < 1 || limit.burst >= limit.requests) {
    return {
      error: `"${text}": requests at least 2, seconds at least 1, burst at least 1 and below requests`,
    };
  }
  return limit;
}

/** How the deployment tunes the limits (platform/config.ts reads it from the environment). */
export interface RateLimitSettings {
  /** `<vendor>.<class>` → its limit, replacing the catalog's or adding `<vendor>.requests`. */
  overrides: Readonly<Record<string, RateLimit>>;
  tokenRequestsPerHost: RateLimit;
  /** A wait up to this long happens in place; a longer one is handed back to the caller (a timer). */
  inlineWaitMs: number;
  /** How far ahead a job or refresh may hold a slot. */
  horizonMs: number;
}

/** The shared budgets, the limits in force, and how long a caller waits for a slot in place. */
export interface SharedRateLimits extends Pick<RateLimitSettings, 'inlineWaitMs' | 'horizonMs'> {
  budget: RateBudget;
  limits: RateLimits;
}

/** The catalog's limits with the overrides; an override naming no vendor or class is refused at start. */
export function createRateLimits(
  vendors: readonly VendorDefinition[],
  settings: Pick<RateLimitSettings, 'overrides' | 'tokenRequestsPerHost'>,
  variable = 'TETHER_VENDOR_RATE_LIMITS',
): RateLimits {
  const byVendor = new Map<string, RateLimitRule[]>();
  for (const vendor of vendors) byVendor.set(vendor.id, [...(vendor.rateLimits ?? [])]);
  for (const [name, limit] of Object.entries(settings.overrides)) {
    const [vendorId, budgetClass] = name.split('.', 2) as [string, string | undefined];
    const rules = byVendor.get(vendorId);
    if (!rules || !budgetClass) {
      throw new Error(`${variable}: ${name} names no vendor (${[...byVendor.keys()].join(', ')}) and class`);
    }
    const at = rules.findIndex((rule) => rule.class === budgetClass);
    if (at >= 0) rules[at] = { ...rules[at]!, limit };
    else if (budgetClass === ALL_REQUESTS) rules.push(everyRequest(limit, 'every request (configured)'));
    else {
      const known = [ALL_REQUESTS, ...rules.map((rule) => rule.class)].join(', ');
      throw new Error(`${variable}: ${vendorId} has no rate limit class ${budgetClass} (${known})`);
    }
  }
  return {
    rules: (vendor) => byVendor.get(vendor.id) ?? vendor.rateLimits ?? [],
    tokenRequestsPerHost: settings.tokenRequestsPerHost,
  };
}
