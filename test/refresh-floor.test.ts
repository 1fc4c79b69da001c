// A refresh and a link at the floor of what Temporal costs (REFRESH_AT_THE_FLOOR): their token request and
// transition run as local activities in one workflow task, falling back to regular activities on failure
// with the same vendor calls as before. Read from the workflow's own history on the real stack.
import { temporal } from '@temporalio/proto';
import { eventually } from './support/eventually';
import { startStack, type Stack } from './support/stack';
import { demoLink } from './support/vendor-fixtures';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ policy: { failureBackoffBaseMs: 60_000, failureBackoffCapMs: 60_000 } });
});
afterAll(async () => {
  await stack?.close();
});

const EventType = temporal.api.enums.v1.EventType;
type Event = temporal.api.history.v1.IHistoryEvent;

async function history(id: string): Promise<Event[]> {
  return (await stack.client.workflow.getHandle(`connection:${id}`).fetchHistory()).events ?? [];
}

/** The local activity a marker records, if it records one. */
function localActivity(e: Event): string | undefined {
  const marker = e.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const data = marker.details?.data?.payloads?.[0]?.data;
  return (JSON.parse(Buffer.from(data!).toString('utf8')) as { activity_type: string }).activity_type;
}

const refreshCount = async (id: string) =>
  (await stack.eventTypes(id)).filter((t) => t === 'refresh_succeeded').length;

test('a link is one workflow task and a routine refresh cycle 7 history events, with no upsert', async () => {
  const { id } = await stack.link(demoLink(stack, 'invgate', 'demo-ttl-2.floor'));
  await stack.waitForStatus(id, 'active');
  // The history, not the audit trail: a marker is written when its workflow task completes, after the row.
  const events = await eventually(
    () => history(id),
    (all) => all.filter((e) => localActivity(e) === 'recordTransition').length >= 4,
    { what: 'the link and three refreshes recorded', timeoutMs: 30_000 },
  );

  const firstTimer = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED);
  const linkTasks = events
    .slice(0, firstTimer)
    .filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  expect(linkTasks).toHaveLength(1);
  expect(events.slice(0, firstTimer).map(localActivity).filter(Boolean)).toEqual([
    'obtainToken',
    'recordTransition',
  ]);

  const recorded = events.flatMap((e, i) => (localActivity(e) === 'recordTransition' ? [i] : []));
  expect(recorded.length).toBeGreaterThanOrEqual(4);
  for (let k = 2; k < recorded.length; k++) {
    const cycle = events.slice(recorded[k - 1]! + 1, recorded[k]! + 1).map((e) => EventType[e.eventType!]);
    expect(cycle).toEqual([
      'EVENT_TYPE_TIMER_STARTED',
      'EVENT_TYPE_TIMER_FIRED',
      'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
      'EVENT_TYPE_WORKFLOW_TASK_STARTED',
      'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
      'EVENT_TYPE_MARKER_RECORDED',
      'EVENT_TYPE_MARKER_RECORDED',
    ]);
  }
});

/**
 * Take a refresh at the floor down until it degrades: 503s, or 429s with Retry-After when it is given;
 * the history after its failed local attempt, and the calls the vendor saw.
 */
async function failingRefresh(client: string, retryAfterSeconds?: number) {
  const { id } = await stack.link(demoLink(stack, 'invgate', client));
  await stack.waitForStatus(id, 'active');
  await eventually(
    () => refreshCount(id),
    (n) => n >= 1,
    { what: 'a refresh', timeoutMs: 30_000 },
  );
  const before = stack.sim.control.stats('invgate', client).tokenRequests;
  stack.sim.control.addFault({
    vendor: 'invgate',
    match: client,
    fault: { kind: 'status', status: retryAfterSeconds === undefined ? 503 : 429, retryAfterSeconds },
    scope: 'token',
  });
  await stack.waitForStatus(id, 'degraded', 60_000);
  // The backoff after it is a minute: nothing else calls meanwhile.
  const calls = stack.sim.control.stats('invgate', client).tokenRequests - before;

  const events = await history(id);
  const failedLocal = events.reduce(
    (last, e, i) =>
      localActivity(e) === 'obtainToken' && e.markerRecordedEventAttributes?.failure ? i : last,
    -1,
  );
  expect(failedLocal).toBeGreaterThan(0);
  const after = events.slice(failedLocal + 1);
  const fallback = after.findIndex((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  expect(after[fallback]?.activityTaskScheduledEventAttributes?.activityType?.name).toBe('obtainToken');
  expect(after[fallback]?.activityTaskScheduledEventAttributes?.retryPolicy?.maximumAttempts).toBe(3);
  expect(after.some((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED)).toBe(true);
  return {
    calls,
    failedMarker: events[failedLocal]!,
    beforeFallback: after.slice(0, fallback),
    fallback: after[fallback]!,
  };
}

test('a failed local attempt goes to the regular activity in the same workflow task, with its attempts left: 4 calls in all', async () => {
  const { calls, failedMarker, beforeFallback, fallback } = await failingRefresh('demo-ttl-2.floor-down');
  expect(calls).toBe(4);
  // No timer and no workflow task of its own: the link's deadline counts in vendor calls, not round trips.
  expect(beforeFallback).toEqual([]);
  expect(fallback.activityTaskScheduledEventAttributes?.workflowTaskCompletedEventId?.toString()).toBe(
    failedMarker.markerRecordedEventAttributes?.workflowTaskCompletedEventId?.toString(),
  );
});

test('a local attempt the vendor answered with Retry-After waits it out on a timer before the regular activity', async () => {
  const { calls, beforeFallback } = await failingRefresh('demo-ttl-2.floor-retry-after', 2);
  expect(calls).toBe(4);
  const wait = beforeFallback.find((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED);
  expect(Number(wait?.timerStartedEventAttributes?.startToFireTimeout?.seconds)).toBe(2);
});
