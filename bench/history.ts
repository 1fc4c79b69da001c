// Reading workflow histories for the benchmark: event names and times, activity types, and the
// (encrypted) inputs of recordTransition decoded with the run's codec to find refresh boundaries.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { EncryptionCodec } from '../platform/payload-codec';

export interface HistoryEvent {
  id: number;
  name: string;
  at: number;
  activityType?: string;
  /** ActivityTaskStarted/Completed: the type of the activity they belong to. */
  ofActivity?: string;
  /** recordTransition's transition.event, when decoded. */
  transitionEvent?: string;
  /** MarkerRecorded of a local activity: its type (its input is not in the history). */
  localActivity?: string;
  /** WorkflowTaskStarted: the worker that took the task (the SDK's `<pid>@<host>`). */
  identity?: string;
}

/** The local activity a marker records, from the JSON the SDK's core writes under `data`. */
function localActivityOf(
  marker: temporal.api.history.v1.IMarkerRecordedEventAttributes | null | undefined,
): string | undefined {
  if (marker?.markerName !== 'core_local_activity') return undefined;
  const data = marker.details?.data?.payloads?.[0]?.data;
  if (!data) return '?';
  const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as {
    activity_type?: string;
    activityType?: string;
  };
  return parsed.activity_type ?? parsed.activityType ?? '?';
}

const EVENT_NAMES = temporal.api.enums.v1.EventType as unknown as Record<number, string>;

/** EVENT_TYPE_ACTIVITY_TASK_SCHEDULED → ActivityTaskScheduled */
function eventName(type: number | null | undefined): string {
  const raw = EVENT_NAMES[type ?? 0] ?? 'Unknown';
  return raw
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());
}

export async function readHistory(
  client: Client,
  workflowId: string,
  codec?: EncryptionCodec,
): Promise<HistoryEvent[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<number, string>();
  const out: HistoryEvent[] = [];
  for (const e of history.events ?? []) {
    const id = Number(e.eventId);
    const event: HistoryEvent = { id, name: eventName(e.eventType), at: tsToMs(e.eventTime) };
    const local = localActivityOf(e.markerRecordedEventAttributes);
    if (local) event.localActivity = local;
    const taken = e.workflowTaskStartedEventAttributes?.identity;
    if (taken) event.identity = taken;
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      event.activityType = s.activityType?.name ?? undefined;
      scheduled.set(id, event.activityType ?? '?');
      if (codec && event.activityType === 'recordTransition' && s.input?.payloads?.[0]) {
        const [payload] = await codec.decode([s.input.payloads[0] as Payload]);
        const input = defaultPayloadConverter.fromPayload<{ transition?: { event?: string } }>(payload!);
        event.transitionEvent = input.transition?.event;
      }
    }
    const ofScheduled =
      e.activityTaskStartedEventAttributes?.scheduledEventId ??
      e.activityTaskCompletedEventAttributes?.scheduledEventId ??
      e.activityTaskFailedEventAttributes?.scheduledEventId;
    if (ofScheduled != null) event.ofActivity = scheduled.get(Number(ofScheduled));
    out.push(event);
  }
  return out;
}

/** Which part of the work the interval ending at `to` belongs to. */
export function segmentLabel(to: HistoryEvent): string {
  switch (to.name) {
    case 'WorkflowExecutionStarted':
      return 'API: validate, insert rows, start workflow';
    case 'WorkflowTaskStarted':
      return 'workflow task: wait in queue';
    case 'WorkflowTaskCompleted':
      return 'workflow task: run on worker';
    case 'ActivityTaskStarted':
      return `activity ${to.ofActivity}: wait in queue`;
    case 'ActivityTaskCompleted':
      return `activity ${to.ofActivity}: run`;
    default:
      return 'server bookkeeping';
  }
}

export interface Segments {
  /** label → ms, summed over the sample */
  total: Map<string, number>;
  samples: number;
}

/** Adds the timeline start → events (up to `end`) → end to the segment totals. */
export function addSegments(
  segments: Segments,
  startAt: number,
  events: HistoryEvent[],
  endAt: number,
  endLabel: (last: HistoryEvent) => string,
): void {
  let prevAt = startAt;
  let last: HistoryEvent | undefined;
  const add = (label: string, ms: number) => segments.total.set(label, (segments.total.get(label) ?? 0) + ms);
  for (const e of events) {
    if (e.at > endAt) break;
    add(segmentLabel(e), e.at - prevAt);
    prevAt = e.at;
    last = e;
  }
  if (last) add(endLabel(last), endAt - prevAt);
  segments.samples += 1;
}
