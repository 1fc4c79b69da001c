// Workflow versioning: each id marks a change of the commands a running workflow emits (patched()).
// Histories recorded before a change have no marker and replay the old path; keep an id as long as such
// histories may still be running, with their fixtures in test/fixtures/histories.

/**
 * Since this change the token activity also verifies the scopes, one activity per link or refresh instead
 * of obtainToken + verifyScopes. Before it: the two-activity path.
 */
export const VERIFY_WITH_TOKEN = 'verify-scopes-with-the-new-token';

/**
 * Since this change a refresh joins only work whose token request has not started (a queued refresh, or a
 * queued resume that re-establishes); one arriving while a step runs queues one more, so none is lost.
 * Before it: a refresh joined a running refresh or establish, even after its token request, and never a
 * queued resume.
 */
export const REFRESH_JOINS_ONLY_UNSTARTED = 'refresh-joins-only-unstarted-token-requests';

/**
 * Since this change a configuration fault (unknown host, 404, an HTML page, a token endpoint's 400) is read
 * by phase: at link it is invalid_configuration; on a connection that worked it is an outage (degraded,
 * backoff) until it persists for configurationFaultLimitMs. Before it: a refusal of the credentials, toward
 * needs_reauth after the rejection limit, invalid_credentials at link.
 */
export const CONFIGURATION_FAULTS_BY_PHASE = 'configuration-faults-read-by-phase';

/**
 * Since this change a link failing for linkDelayedAfterMs announces link_delayed, and one failing for
 * linkDeadlineMs stops as link_failed. Before it: a failing link kept trying, unannounced, forever.
 */
export const LINK_DEADLINE = 'link-delayed-then-failed';

/**
 * Since this change insufficient_scopes checks again with backoff (a timer), so permissions granted at the
 * vendor are noticed without a command. Before it: no timer until a command.
 */
export const SCOPES_RECHECKED = 'insufficient-scopes-rechecked';

/**
 * Since this change an activity that found the shared vendor rate budget out (RateBudgetWait) is called again
 * after the wait it named, on a timer, without counting as a vendor failure. Before it: no such failure.
 */
export const RATE_BUDGET_WAITS = 'rate-budget-waits-on-a-timer';

/**
 * Since this change ensureFreshToken first waits out a token request already queued or running (another API
 * process's caller, which this process's single flight cannot see), then refreshes only if the token it left
 * is still too short. Before it: one arriving while a refresh called the vendor queued a second refresh.
 */
export const ENSURE_FRESH_WAITS_FOR_REFRESH_IN_FLIGHT = 'ensure-fresh-waits-for-a-refresh-in-flight';

/**
 * Since this change a refresh or establish its timer began (routine refresh, link, recheck) requests its
 * token and records its transition in local activities, in the workflow task that began the step (regular
 * activities when a local attempt fails or runs long, and for steps a command began), and the status
 * search attribute is upserted only when the status changes. Before it: two regular activities and an upsert per transition (18 history events per refresh
 * cycle, 3 workflow tasks per link).
 */
export const REFRESH_AT_THE_FLOOR = 'refresh-in-one-workflow-task';
