// Records the history of each lifecycle path into test/fixtures/histories, for the replay test:
// a change to the workflow that would break running workflows then fails CI.
// Run after a deliberate, versioned workflow change: `npm run histories:record -- <scenario>...` records
// the scenarios named (all without names). Histories recorded by older workflow code stay beside the new
// ones (the replay test runs both), so re-record only the paths the change added.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startTemporalDevServer } from '../dev/temporal-dev-server';
import { startStack, type Stack, type StackOptions } from '../test/support/stack';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/search-attributes';
import { continueAsNewNowUpdate, ensureFreshTokenUpdate } from '../workflows/messages';
import type { ConnectionView } from '../domain/connection';
import { FAILURE_CONVERTER_PATH } from '../platform/payload-codec';

const OUT = path.join(__dirname, '..', 'test', 'fixtures', 'histories');

/** The workflow whose history to record (a connection id, or a workflow id): its last run, or the run named. */
type Scenario = (stack: Stack) => Promise<string | { id: string; runId: string }>;

/**
 * Shared rate budgets tight enough that a second caller's slot is seconds away: past the 300 ms waited in
 * place, so its workflow waits for it on a timer (RateBudgetWait).
 */
const TIGHT_BUDGETS = {
  TETHER_VENDOR_RATE_LIMITS: 'slack.scim_user_writes=2/5/1',
  TETHER_TOKEN_REQUESTS_PER_HOST: '2/5/1',
  TETHER_RATE_BUDGET_INLINE_WAIT_MS: '300',
};

/** Scenarios that need timings or configuration of their own run on a stack of their own. */
const OWN_STACKS: Record<string, Pick<StackOptions, 'policy' | 'env'>> = {
  'invgate-link-outage-then-failed': { policy: { linkDelayedAfterMs: 1, linkDeadlineMs: 10_000 } },
  'invgate-configuration-faults-in-maintenance': { policy: { configurationFaultLimitMs: 4_000 } },
  'slack-job-rate-budget-wait': { env: TIGHT_BUDGETS },
  'invgate-refresh-rate-budget-wait': { env: TIGHT_BUDGETS },
  'invgate-link-at-the-floor-budget-wait': { env: TIGHT_BUDGETS },
  'invgate-refresh-at-the-floor': { policy: { failureBackoffBaseMs: 500, failureBackoffCapMs: 1_000 } },
};

const invgate = (stack: Stack, clientId: string, clientSecret = 'demo-secret') => ({
  vendor: 'invgate',
  instanceUrl: stack.instanceUrl('invgate'),
  credentials: { clientId, clientSecret },
});
const call = (stack: Stack, method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
  stack.app.inject({ method, url, payload });

/** As the admin key, which holds every scope (provisioning:write included). */
const asAdmin = (stack: Stack, method: 'GET' | 'POST', url: string, payload?: object) =>
  stack.rawApp.inject({
    method,
    url,
    payload,
    headers: { authorization: `Bearer ${stack.adminKey}`, 'x-tenant-id': 'test-tenant' },
  });

const scenarios: Record<string, Scenario> = {
  // Two links at once on one InvGate host at one token request per 5 s: the link whose local attempt finds
  // the shared budget out holds the next slot, sleeps until it on a timer, then takes it with the regular
  // activity; neither is a vendor failure.
  async 'invgate-link-at-the-floor-budget-wait'(stack) {
    const ids = await Promise.all(
      [1, 2].map(async (n) => (await stack.link(invgate(stack, `demo-all-scopes.rec-floor-budget-${n}`))).id),
    );
    for (const id of ids) await stack.waitForStatus(id, 'active', 30_000);
    let waited: string | undefined;
    for (const id of ids) {
      const { events } = await stack.client.workflow.getHandle(`connection:${id}`).fetchHistory();
      const regular = (events ?? []).some(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'obtainToken',
      );
      if (regular) waited = id;
      else await revoke(stack, id);
    }
    if (!waited) throw new Error('neither link waited for the rate budget');
    await revoke(stack, waited);
    return waited;
  },
  // Two API processes' ensureFreshToken updates while the first one's refresh waits 3 s for InvGate: the
  // second waits that refresh out and answers its token, with no second refresh.
  async 'invgate-ensure-fresh-two-callers'(stack) {
    const clientId = 'demo-ttl-16.rec-two-callers';
    const { id } = await stack.link(invgate(stack, clientId));
    const linked = await stack.waitForStatus(id, 'active');
    const left = Date.parse(linked.tokenExpiresAt!) - Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, left - 7_000)));
    stack.sim.control.addFault({
      vendor: 'invgate',
      match: clientId,
      scope: 'token',
      fault: { kind: 'delay', ms: 3_000 },
      times: 1,
    });
    const workflow = stack.client.workflow.getHandle(`connection:${id}`);
    const ensure = () => workflow.executeUpdate(ensureFreshTokenUpdate, { args: [{ minValidityMs: 8_000 }] });
    const first = ensure();
    await new Promise((r) => setTimeout(r, 1_000));
    await Promise.all([first, ensure()]);
    await waitForEvent(stack, id, 'refresh_succeeded');
    await revoke(stack, id);
    return id;
  },
  // A provisioning job: waits for a paused connection, succeeds once it is resumed, starts its webhook.
  // Returns the job's workflow id (the others return a connection id).
  async 'promapp-provisioning-job'(stack) {
    await asAdmin(stack, 'POST', '/v1/webhooks', {
      url: 'http://127.0.0.1:9/hook',
      eventTypes: ['job.succeeded'],
    });
    const { id } = await stack.link({
      vendor: 'promapp',
      instanceUrl: stack.instanceUrl('promapp'),
      credentials: { token: 'demo-all-scopes.rec-job' },
    });
    await stack.waitForStatus(id, 'active');
    await call(stack, 'POST', `/v1/connections/${id}/pause`);
    await stack.waitForStatus(id, 'paused');
    const job = (
      await asAdmin(stack, 'POST', `/v1/connections/${id}/jobs`, {
        operation: 'create_user',
        input: { userName: 'recorded@example.com', externalId: 'rec-1' },
      })
    ).json();
    await until(
      async () =>
        (await asAdmin(stack, 'GET', `/v1/jobs/${job.id}`)).json().status === 'waiting_for_connection',
      'the job never waited',
    );
    await call(stack, 'POST', `/v1/connections/${id}/resume`);
    return job.workflowId as string;
  },
  // Two SCIM creates at once on one Slack connection at one user write per 5 s: the job that finds the
  // shared budget out holds the next slot and waits for it on a timer, then succeeds with no attempt used.
  async 'slack-job-rate-budget-wait'(stack) {
    const { id } = await stack.link({
      vendor: 'slack',
      credentials: { token: 'xoxp-demo-all-scopes.rec-budget' },
    });
    await stack.waitForStatus(id, 'active');
    const create = async (n: number) =>
      (
        await asAdmin(stack, 'POST', `/v1/connections/${id}/jobs`, {
          operation: 'create_user',
          input: { userName: `budget-${n}@example.com`, externalId: `rec-budget-${n}` },
        })
      ).json().workflowId as string;
    const jobs = await Promise.all([create(1), create(2)]);
    for (const workflowId of jobs) await stack.client.workflow.getHandle(workflowId).result();
    for (const workflowId of jobs) if (await waitedForBudget(stack, workflowId)) return workflowId;
    throw new Error('neither job waited for the rate budget');
  },
  // A refresh right after another connection's on the same InvGate host, at one token request per 5 s
  // there: it waits for its slot on a timer, without the connection becoming degraded.
  async 'invgate-refresh-rate-budget-wait'(stack) {
    const other = (await stack.link(invgate(stack, 'demo-all-scopes.rec-budget-other'))).id;
    await stack.waitForStatus(other, 'active', 30_000);
    const { id } = await stack.link(invgate(stack, 'demo-all-scopes.rec-budget'));
    await stack.waitForStatus(id, 'active', 30_000);
    await call(stack, 'POST', `/v1/connections/${other}/refresh`);
    await waitForEvent(stack, other, 'refresh_succeeded');
    await call(stack, 'POST', `/v1/connections/${id}/refresh`);
    await waitForEvent(stack, id, 'refresh_succeeded');
    if (!(await waitedForBudget(stack, `connection:${id}`)))
      throw new Error(`${id}: never waited for the budget`);
    await revoke(stack, id);
    await revoke(stack, other);
    return id;
  },
  // A leaver to Slack and Promapp with Promapp down past its job's retries: the event's parent workflow.
  async 'lifecycle-leaver-outage'(stack) {
    return (await leaverThroughOutage(stack, 'rec-leave')).eventWorkflowId;
  },
  // The same leaver's Promapp job: it waits through the outage (waitThroughOutages) and then succeeds.
  async 'promapp-leaver-job-outage'(stack) {
    return (await leaverThroughOutage(stack, 'rec-leave-job')).waitingJobWorkflowId;
  },
  // Every command once: refresh now, pause, resume, rotation rejected and accepted, revoke.
  async 'invgate-commands'(stack) {
    const { id } = await stack.link(invgate(stack, 'demo-all-scopes.rec'));
    await stack.waitForStatus(id, 'active');
    await call(stack, 'POST', `/v1/connections/${id}/refresh`);
    await waitForEvent(stack, id, 'refresh_succeeded');
    await call(stack, 'POST', `/v1/connections/${id}/pause`);
    await stack.waitForStatus(id, 'paused');
    await call(stack, 'POST', `/v1/connections/${id}/resume`);
    await waitForEvent(stack, id, 'resumed');
    await call(stack, 'PUT', `/v1/connections/${id}/credentials`, {
      credentials: { clientId: 'demo-all-scopes.rec', clientSecret: 'wrong' },
    });
    await call(stack, 'PUT', `/v1/connections/${id}/credentials`, {
      credentials: { clientId: 'demo-all-scopes.rec2', clientSecret: 'demo-secret' },
    });
    await revoke(stack, id);
    return id;
  },
  // Timers: several refreshes of a short-lived token.
  async 'invgate-refresh-cycles'(stack) {
    const { id } = await stack.link(invgate(stack, 'demo-ttl-2.rec'));
    await stack.waitForStatus(id, 'active');
    for (let i = 0; i < 3; i++) await waitForEvent(stack, id, 'refresh_succeeded', i + 1);
    await revoke(stack, id);
    return id;
  },
  // Refreshes at the floor (local activities): routine ones; one whose local attempt fails and whose
  // regular fallback succeeds; one that fails both (degraded: the status search attribute changes), then
  // the recovery.
  async 'invgate-refresh-at-the-floor'(stack) {
    const client = 'demo-ttl-2.rec-floor';
    const { id } = await stack.link(invgate(stack, client));
    await stack.waitForStatus(id, 'active');
    await waitForEvent(stack, id, 'refresh_succeeded', 2);
    const down = (times: number) =>
      stack.sim.control.addFault({
        vendor: 'invgate',
        match: client,
        fault: { kind: 'status', status: 503 },
        scope: 'token',
        times,
      });
    down(1);
    await waitForEvent(stack, id, 'refresh_succeeded', 3);
    down(4);
    await stack.waitForStatus(id, 'degraded', 60_000);
    await waitForEvent(stack, id, 'recovered');
    await revoke(stack, id);
    return id;
  },
  async 'invgate-missing-scopes'(stack) {
    const { id } = await stack.link(invgate(stack, 'demo-missing-scopes'));
    await stack.waitForStatus(id, 'insufficient_scopes');
    await revoke(stack, id);
    return id;
  },
  async 'invgate-bad-secret'(stack) {
    const { id } = await stack.link(invgate(stack, 'demo-all-scopes.rec', 'wrong'));
    await stack.waitForStatus(id, 'invalid_credentials');
    await revoke(stack, id);
    return id;
  },
  // Vendor down during refresh (degraded, backoff), then credentials rejected (needs_reauth).
  async 'invgate-degraded-then-reauth'(stack) {
    const client = 'demo-ttl-2.rec-fail';
    const { id } = await stack.link(invgate(stack, client));
    await stack.waitForStatus(id, 'active');
    const down = stack.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: { kind: 'status', status: 503 },
      scope: 'token',
    });
    await stack.waitForStatus(id, 'degraded', 60_000);
    stack.sim.control.removeFault(down);
    stack.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: { kind: 'status', status: 401, body: { error: 'invalid_client' } },
      scope: 'token',
    });
    await stack.waitForStatus(id, 'needs_reauth', 60_000);
    await revoke(stack, id);
    return id;
  },
  async 'promapp-probes-and-expiry'(stack) {
    const soon = new Date(Date.now() + 10 * 86_400_000).toISOString();
    const { id } = await stack.link({
      vendor: 'promapp',
      instanceUrl: stack.instanceUrl('promapp'),
      credentials: { token: 'demo-all-scopes.rec' },
      settings: { tokenExpiresAt: soon },
    });
    await stack.waitForStatus(id, 'expiring');
    await waitForEvent(stack, id, 'probe_succeeded');
    await revoke(stack, id);
    return id;
  },

  // Refreshes arriving while other work runs: during a refresh's token request, while a resume waits
  // behind a rotation, and during a resume's re-establish. Token requests are slowed so each lands inside.
  async 'invgate-refresh-races'(stack) {
    const live = 'demo-all-scopes.races';
    const next = 'demo-all-scopes.races2';
    const slow = (client: string) =>
      stack.sim.control.addFault({
        vendor: 'invgate',
        match: client,
        fault: { kind: 'delay', ms: 800 },
        scope: 'token',
      });
    const { id } = await stack.link(invgate(stack, live));
    await stack.waitForStatus(id, 'active');
    slow(live);
    await call(stack, 'POST', `/v1/connections/${id}/refresh`);
    await waitForStep(stack, id, 'refresh');
    await call(stack, 'POST', `/v1/connections/${id}/refresh`);
    await waitIdle(stack, id);

    slow(next);
    const rotation = call(stack, 'PUT', `/v1/connections/${id}/credentials`, {
      credentials: { clientId: next, clientSecret: 'demo-secret' },
    });
    await waitForStep(stack, id, 'rotate');
    for (const command of ['pause', 'resume', 'refresh']) {
      await call(stack, 'POST', `/v1/connections/${id}/${command}`);
    }
    await rotation;
    await waitIdle(stack, id);

    await call(stack, 'POST', `/v1/connections/${id}/pause`);
    await stack.waitForStatus(id, 'paused');
    await call(stack, 'POST', `/v1/connections/${id}/resume`);
    await waitForStep(stack, id, 'establish', 'resume');
    await call(stack, 'POST', `/v1/connections/${id}/refresh`);
    await waitIdle(stack, id);
    await revoke(stack, id);
    return id;
  },

  // A link during a vendor outage: keeps trying, announces the delay, fails at its deadline; a refresh
  // after the outage links it.
  async 'invgate-link-outage-then-failed'(stack) {
    const client = 'demo-all-scopes.rec-outage';
    const down = stack.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: { kind: 'status', status: 503 },
      scope: 'token',
    });
    const { id } = await stack.link(invgate(stack, client));
    await stack.waitForStatus(id, 'link_failed', 60_000);
    stack.sim.control.removeFault(down);
    await call(stack, 'POST', `/v1/connections/${id}/refresh`);
    await stack.waitForStatus(id, 'active');
    await revoke(stack, id);
    return id;
  },
  // A connection that worked meets configuration faults: an outage that recovers by itself, then faults
  // that persist past their limit (invalid_configuration), fixed and refreshed.
  async 'invgate-configuration-faults-in-maintenance'(stack) {
    const client = 'demo-ttl-2.rec-config';
    const { id } = await stack.link(invgate(stack, client));
    await stack.waitForStatus(id, 'active');
    const badRequest = () =>
      stack.sim.control.addFault({
        vendor: 'invgate',
        match: client,
        fault: { kind: 'status', status: 400, body: { error: 'invalid_request' } },
        scope: 'token',
      });
    let fault = badRequest();
    await waitForEvent(stack, id, 'configuration_fault');
    stack.sim.control.removeFault(fault);
    await waitForEvent(stack, id, 'recovered');
    fault = badRequest();
    await stack.waitForStatus(id, 'invalid_configuration', 60_000);
    stack.sim.control.removeFault(fault);
    await call(stack, 'POST', `/v1/connections/${id}/refresh`);
    await waitForEvent(stack, id, 'recovered', 2);
    await revoke(stack, id);
    return id;
  },
  // A link to the wrong place (an HTML sign-in page): invalid_configuration; once fixed, a refresh links it.
  async 'invgate-wrong-url-then-relinked'(stack) {
    const client = 'demo-all-scopes.rec-html';
    stack.sim.control.addFault({
      vendor: 'invgate',
      match: client,
      fault: { kind: 'html' },
      scope: 'token',
      times: 1,
    });
    const { id } = await stack.link(invgate(stack, client));
    await stack.waitForStatus(id, 'invalid_configuration');
    await call(stack, 'POST', `/v1/connections/${id}/refresh`);
    await stack.waitForStatus(id, 'active');
    await revoke(stack, id);
    return id;
  },
  // A required scope removed at the vendor, noticed at a refresh; checked again with backoff until it is
  // granted again. An optional one missing throughout (read:assets) never blocks.
  async 'halo-scopes-rechecked'(stack) {
    const client = 'demo-ttl-2.rec-scopes';
    stack.sim.control.addFault({
      vendor: 'halo',
      match: client,
      fault: { kind: 'drop_scopes', scopes: ['read:assets'] },
      scope: 'token',
    });
    const { id } = await stack.link({
      vendor: 'halo',
      instanceUrl: stack.instanceUrl('halo'),
      credentials: { clientId: client, clientSecret: 'demo-secret' },
    });
    await stack.waitForStatus(id, 'active');
    const removed = stack.sim.control.addFault({
      vendor: 'halo',
      match: client,
      fault: { kind: 'drop_scopes', scopes: ['read:tickets'] },
      scope: 'token',
    });
    await stack.waitForStatus(id, 'insufficient_scopes', 30_000);
    await waitForEvent(stack, id, 'scopes_missing', 2);
    stack.sim.control.removeFault(removed);
    await waitForEvent(stack, id, 'recovered');
    await revoke(stack, id);
    return id;
  },
  // An idle (paused) workflow asked to continue as new now, as `npm run keys:workflows -- --move` does:
  // the run that ends with it.
  async 'invgate-continue-as-new-now'(stack) {
    const { id } = await stack.link(invgate(stack, 'demo-all-scopes.rec-can'));
    await stack.waitForStatus(id, 'active');
    await call(stack, 'POST', `/v1/connections/${id}/pause`);
    await stack.waitForStatus(id, 'paused');
    const handle = stack.client.workflow.getHandle(`connection:${id}`);
    const { runId } = await handle.executeUpdate(continueAsNewNowUpdate);
    await until(async () => (await handle.describe()).runId !== runId, `${id}: never continued as new`);
    await call(stack, 'POST', `/v1/connections/${id}/resume`);
    await stack.waitForStatus(id, 'active');
    await revoke(stack, id);
    return { id, runId };
  },

  // OAuth install (Slack Enterprise Grid): waits for the install, redeems the code, rotates tokens.
  async 'slack-install-rotation'(stack) {
    const { id } = await stack.link({
      vendor: 'slack-grid',
      credentials: { clientId: 'demo-rotating-3.rec', clientSecret: 'demo-secret' },
    });
    const started = await call(stack, 'POST', `/v1/connections/${id}/install`);
    const consent = await fetch(started.json().authorizeUrl, { redirect: 'manual' });
    const back = new URL(consent.headers.get('location')!);
    await stack.rawApp.inject({ method: 'GET', url: `/v1/oauth/callback${back.search}` });
    await stack.waitForStatus(id, 'active');
    await waitForEvent(stack, id, 'refresh_succeeded', 2);
    await revoke(stack, id);
    return id;
  },
};

/** Whether the workflow took the RateBudgetWait path (its patch marker is recorded only there). */
async function waitedForBudget(stack: Stack, workflowId: string): Promise<boolean> {
  const { events } = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  return (events ?? []).some(
    (e) => e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type === 'RateBudgetWait',
  );
}

async function revoke(stack: Stack, id: string) {
  await call(stack, 'DELETE', `/v1/connections/${id}`);
  await stack.waitForStatus(id, 'revoked');
}

async function waitForEvent(stack: Stack, id: string, type: string, count = 1) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if ((await stack.events(id)).filter((e) => e.type === type).length >= count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${id}: no ${count}× ${type}`);
}

async function status(stack: Stack, id: string) {
  return stack.client.workflow.getHandle(`connection:${id}`).query<ConnectionView>('status');
}

/** Until the workflow runs one of these steps (a resume's re-establish was a `resume` step before). */
async function waitForStep(stack: Stack, id: string, ...steps: string[]) {
  const busy = async () => steps.includes((await status(stack, id)).busyWith ?? '');
  await until(busy, `${id}: never busy with ${steps.join(' or ')}`);
}

/** A joiner, then a leaver while Promapp answers 503; Promapp comes back once its job has waited a round. */
async function leaverThroughOutage(stack: Stack, suffix: string) {
  const token = `demo-all-scopes.${suffix}`;
  const promapp = (
    await stack.link({ vendor: 'promapp', instanceUrl: stack.instanceUrl('promapp'), credentials: { token } })
  ).id;
  const slack = (await stack.link({ vendor: 'slack', credentials: { token: `xoxp-${token}` } })).id;
  await stack.waitForStatus(promapp, 'active');
  await stack.waitForStatus(slack, 'active');
  const person = { externalId: `hr-${suffix}`, userName: `${suffix}@example.com` };
  const targets = [{ connectionId: promapp }, { connectionId: slack }];
  const joiner = (
    await asAdmin(stack, 'POST', '/v1/lifecycle-events', { kind: 'joiner', person, targets })
  ).json();
  await stack.client.workflow.getHandle(joiner.workflowId).result();
  stack.sim.control.addFault({ vendor: 'promapp', match: token, fault: { kind: 'status', status: 503 } });
  const leaver = (
    await asAdmin(stack, 'POST', '/v1/lifecycle-events', { kind: 'leaver', person, targets })
  ).json();
  const jobId = leaver.targets[0].jobId as string;
  await until(
    async () => (await asAdmin(stack, 'GET', `/v1/jobs/${jobId}`)).json().status === 'waiting_for_connection',
    'the leaver never waited',
  );
  stack.sim.control.clearFaults('promapp');
  return { eventWorkflowId: leaver.workflowId as string, waitingJobWorkflowId: `provision:${jobId}` };
}

async function waitIdle(stack: Stack, id: string) {
  await until(async () => {
    const view = await status(stack, id);
    return view.busyWith === null && view.pendingCommands.length === 0;
  }, `${id}: never idle`);
}

async function until(check: () => Promise<boolean>, failure: string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(failure);
}

async function main() {
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !(name in scenarios));
  if (unknown.length > 0) throw new Error(`no such scenario: ${unknown.join(', ')}`);
  const server = await startTemporalDevServer({
    headless: true,
    searchAttributes: { ...SEARCH_ATTRIBUTE_TYPES },
  });
  const bundlePath = path.join(tmpdir(), `tether-record-${process.pid}.js`);
  writeFileSync(
    bundlePath,
    (
      await bundleWorkflowCode({
        workflowsPath: require.resolve('../workflows'),
        failureConverterPath: FAILURE_CONVERTER_PATH,
      })
    ).code,
  );
  const stackWith = (own?: Pick<StackOptions, 'policy' | 'env'>) =>
    startStack({ temporalAddress: server.address, workflowBundlePath: bundlePath, ...own });
  const stack = await stackWith();
  mkdirSync(OUT, { recursive: true });
  try {
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (names.length > 0 && !names.includes(name)) continue;
      const own = OWN_STACKS[name] ? await stackWith(OWN_STACKS[name]) : undefined;
      try {
        const on = own ?? stack;
        const recorded = await scenario(on);
        const { id, runId } = typeof recorded === 'string' ? { id: recorded, runId: undefined } : recorded;
        const workflowId = id.includes(':') ? id : `connection:${id}`;
        await on.client.workflow.getHandle(workflowId).result();
        const history = await on.client.workflow.getHandle(workflowId, runId).fetchHistory();
        writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
        console.log(`recorded ${name}`);
      } finally {
        await own?.close();
      }
    }
  } finally {
    await stack.close();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
