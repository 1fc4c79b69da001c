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
