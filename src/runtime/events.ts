/**
 * An Event recorder writing `events.k8s.io/v1` Events, the API client-go's newer `tools/events`
 * uses; `kubectl describe` and `kubectl events` show them like core Events (same storage).
 *
 * Repeats are aggregated in the spirit of client-go's EventCorrelator, because a controller that
 * reconciles every few seconds must not write one Event per reconcile: an Event with the same
 * object, type, reason, action and note as one observed within the series window becomes a
 * series (`series.count`, `series.lastObservedTime`) updated by PATCH, at most once per update
 * interval per series; counts seen in between are sent with the next update. Recording never
 * throws and never waits on the API server: Events are best effort, failures are logged at debug.
 */
import { hash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import { isKubeApiError } from '../kube/client.ts';
import { sharedStrings } from '../kube/intern.ts';
import { withoutControls } from '../api/text.ts';
import { formatMicroTime } from './leaderelection.ts';

/** REPORTING_CONTROLLER is the reportingController of every Event we write. */
export const REPORTING_CONTROLLER = 'openchoreo.dev/release-controller';
/** NOTE_MAX_BYTES is the API server's limit on `note` (validation rejects longer ones). */
export const NOTE_MAX_BYTES = 1024;
/** FIELD_MAX_LENGTH is the API server's limit on reason, action and reportingInstance. */
export const FIELD_MAX_LENGTH = 128;
/** DEFAULT_SERIES_WINDOW_MS is how long after its last occurrence a repeat still joins an Event's series. */
export const DEFAULT_SERIES_WINDOW_MS = 10 * 60_000;
/** DEFAULT_MIN_UPDATE_INTERVAL_MS is the least time between two writes of one series. */
export const DEFAULT_MIN_UPDATE_INTERVAL_MS = 30_000;
/** DEFAULT_CACHE_SIZE bounds the remembered series (client-go's correlator keeps 4096 too). */
export const DEFAULT_CACHE_SIZE = 4096;
/** DEFAULT_ACTION is the `action` when the caller names none; events.k8s.io/v1 requires one. */
export const DEFAULT_ACTION = 'Reconcile';
/** DEFAULT_EVENT_TIMEOUT_MS bounds each Event write, which nobody waits for. */
export const DEFAULT_EVENT_TIMEOUT_MS = 10_000;

const EVENTS_API_PATH = '/apis/events.k8s.io/v1';
// Events of cluster-scoped objects live in `default`, as client-go puts them.
const CLUSTER_SCOPED_EVENT_NAMESPACE = 'default';
const MAX_NAME_LENGTH = 253;

/** EventType is the type of an Event. */
export type EventType = 'Normal' | 'Warning';

/** InvolvedObject identifies the object an Event is about (`regarding`). */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  /** namespace is empty or absent for cluster-scoped objects. */
  namespace?: string;
  uid?: string;
}

/** EventSeries is the `series` of an events.k8s.io/v1 Event. */
export interface EventSeries {
  count: number;
  lastObservedTime: string;
}

/** KubeEvent is an `events.k8s.io/v1` Event as we write it. */
export interface KubeEvent {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  eventTime: string;
  series?: EventSeries;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  regarding: InvolvedObject;
  note: string;
  type: EventType;
}

/** EventSink writes Events; kubeEventSink writes them to an API server, tests record them. */
export interface EventSink {
  /** create creates a new Event. */
  create(event: KubeEvent): Promise<void>;
  /** updateSeries sets the series of an existing Event; a 404 means it is gone (expired). */
  updateSeries(namespace: string, name: string, series: EventSeries): Promise<void>;
}

/** kubeEventSink writes Events through the API server of client. */
export function kubeEventSink(
  client: Pick<KubeClient, 'request'>,
  timeoutMs: number = DEFAULT_EVENT_TIMEOUT_MS,
): EventSink {
  const collection = (namespace: string) =>
    `${EVENTS_API_PATH}/namespaces/${encodeURIComponent(namespace)}/events`;
  return {
    async create(event) {
      await client.request({
        method: 'POST',
        path: collection(event.metadata.namespace),
        body: event,
        timeoutMs,
        retries: 0,
      });
    },
    async updateSeries(namespace, name, series) {
      await client.request({
        method: 'PATCH',
        path: `${collection(namespace)}/${encodeURIComponent(name)}`,
        body: { series },
        contentType: 'application/merge-patch+json',
        timeoutMs,
        retries: 0,
      });
    },
  };
}

/** EventRecorderOptions configures an EventRecorder. */
export interface EventRecorderOptions {
  sink: EventSink;
  /** reportingInstance names this process (the leader-election identity); cut to 128 characters. */
  reportingInstance: string;
  /** reportingController defaults to REPORTING_CONTROLLER. */
  reportingController?: string;
  logger: Logger;
  seriesWindowMs?: number;
  minUpdateIntervalMs?: number;
  cacheSize?: number;
  /** now is the wall clock in milliseconds; Date.now by default. */
  now?: () => number;
}

/** SeriesState tracks one aggregated Event. */
interface SeriesState {
  namespace: string;
  /** name is the Event's name once created. */
  name: string | undefined;
  template: Omit<KubeEvent, 'metadata' | 'eventTime'>;
  /** count is how often the event was observed in this series. */
  count: number;
  /** sentCount is the count last written (or given up on). */
  sentCount: number;
  lastObservedMs: number;
  lastSentMs: number | undefined;
  sending: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** dropped is set once the series left the cache. */
  dropped: boolean;
}

/** EventRecorder records Events about objects, aggregating repeats. */
export class EventRecorder {
  private readonly sink: EventSink;
  private readonly reportingInstance: string;
  private readonly reportingController: string;
  private readonly logger: Logger;
  private readonly seriesWindowMs: number;
  private readonly minUpdateIntervalMs: number;
  private readonly cacheSize: number;
  private readonly now: () => number;
  /** series is an LRU: Map keeps insertion order, and a hit is re-inserted at the end. */
  private readonly series = new Map<string, SeriesState>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  private sequence = 0;

  constructor(options: EventRecorderOptions) {
    this.sink = options.sink;
    this.reportingInstance = options.reportingInstance.slice(0, FIELD_MAX_LENGTH);
    this.reportingController = options.reportingController ?? REPORTING_CONTROLLER;
    this.logger = options.logger;
    this.seriesWindowMs = options.seriesWindowMs ?? DEFAULT_SERIES_WINDOW_MS;
    this.minUpdateIntervalMs = options.minUpdateIntervalMs ?? DEFAULT_MIN_UPDATE_INTERVAL_MS;
    this.cacheSize = Math.max(1, options.cacheSize ?? DEFAULT_CACHE_SIZE);
    this.now = options.now ?? Date.now;
  }

  /** normal records a Normal Event. */
  normal(regarding: InvolvedObject, reason: string, note: string, action?: string): void {
    this.event(regarding, 'Normal', reason, note, action);
  }

  /** warning records a Warning Event. */
  warning(regarding: InvolvedObject, reason: string, note: string, action?: string): void {
    this.event(regarding, 'Warning', reason, note, action);
  }

  /** event records an Event about regarding; the write happens in the background and never throws. */
  event(
    regarding: InvolvedObject,
    type: EventType,
    reason: string,
    note: string,
    action: string = DEFAULT_ACTION,
  ): void {
    if (this.closed) return;
    try {
      const now = this.now();
      // The cache keeps up to cacheSize series: one copy of each repeated value serves them all.
      const ref: InvolvedObject = {
        apiVersion: sharedStrings.intern(regarding.apiVersion),
        kind: sharedStrings.intern(regarding.kind),
        name: regarding.name,
        ...(regarding.namespace ? { namespace: sharedStrings.intern(regarding.namespace) } : {}),
        ...(regarding.uid ? { uid: regarding.uid } : {}),
      };
      const template: SeriesState['template'] = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        reportingController: this.reportingController,
        reportingInstance: this.reportingInstance,
        action: action.slice(0, FIELD_MAX_LENGTH),
        reason: sharedStrings.intern(reason.slice(0, FIELD_MAX_LENGTH)),
        regarding: ref,
        note: sharedStrings.intern(truncateUtf8(withoutControls(note), NOTE_MAX_BYTES)),
        type,
      };
      // Keyed by a hash of the fields that make a series, not by their text (the template has it).
      const key = hash(
        'sha256',
        JSON.stringify([
          ref.apiVersion,
          ref.kind,
          ref.namespace ?? '',
          ref.name,
          ref.uid ?? '',
          type,
          template.reason,
          template.action,
          template.note,
        ]),
        'base64url',
      );
      const existing = this.series.get(key);
      if (existing) {
        this.series.delete(key);
        if (now - existing.lastObservedMs < this.seriesWindowMs) {
          this.series.set(key, existing);
          existing.count++;
          existing.lastObservedMs = now;
          this.flush(existing);
          return;
        }
        this.drop(existing);
      }
      const state: SeriesState = {
        namespace: ref.namespace ?? CLUSTER_SCOPED_EVENT_NAMESPACE,
        name: undefined,
        template,
        count: 1,
        sentCount: 0,
        lastObservedMs: now,
        lastSentMs: undefined,
        sending: false,
        timer: undefined,
        dropped: false,
      };
      this.series.set(key, state);
      while (this.series.size > this.cacheSize) {
        const [oldestKey, oldest] = this.series.entries().next().value as [string, SeriesState];
        this.series.delete(oldestKey);
        this.drop(oldest);
      }
      this.flush(state);
    } catch (err) {
      this.logger.debug({ err, reason }, 'cannot record event');
    }
  }

  /** close stops recording, drops pending series updates and waits for writes in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const state of this.series.values()) this.drop(state);
    this.series.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private drop(state: SeriesState): void {
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.timer = undefined;
    // A write that finishes later must not write a dropped series again.
    state.dropped = true;
  }

  /** flush writes what the API server does not know yet, unless a write is running or too recent. */
  private flush(state: SeriesState): void {
    if (this.closed || state.dropped || state.sending || state.timer !== undefined) return;
    if (state.count <= state.sentCount) return;
    if (state.lastSentMs !== undefined) {
      const wait = state.lastSentMs + this.minUpdateIntervalMs - this.now();
      if (wait > 0) {
        state.timer = setTimeout(() => {
          state.timer = undefined;
          this.flush(state);
        }, wait);
        state.timer.unref?.();
        return;
      }
    }
    this.send(state);
  }

  private send(state: SeriesState): void {
    const count = state.count;
    const now = this.now();
    const creating = state.name === undefined;
    const name = state.name ?? this.eventName(state.template.regarding.name, now);
    const write = creating
      ? this.sink.create({
          ...state.template,
          metadata: { name, namespace: state.namespace },
          eventTime: formatMicroTime(new Date(now)),
        })
      : this.sink.updateSeries(state.namespace, name, {
          count,
          lastObservedTime: formatMicroTime(new Date(state.lastObservedMs)),
        });
    state.sending = true;
    const done = write.then(
      () => {
        if (creating) state.name = name;
        // A new Event shows one occurrence; later ones go out as a series update.
        state.sentCount = Math.max(state.sentCount, creating ? 1 : count);
      },
      (err: unknown) => {
        this.logger.debug(
          { err, event: `${state.namespace}/${name}`, reason: state.template.reason },
          creating ? 'cannot create event' : 'cannot update event series',
        );
        if (creating || (isKubeApiError(err) && err.isNotFound)) {
          // No Event exists (creation failed, or it expired with the API server's event TTL): the
          // next occurrence starts a new one, after the update interval.
          state.name = undefined;
          state.count = 0;
          state.sentCount = 0;
          return;
        }
        // Best effort: give up on these occurrences rather than retrying in the background.
        state.sentCount = Math.max(state.sentCount, count);
      },
    );
    const tracked: Promise<void> = done.finally(() => {
      state.sending = false;
      state.lastSentMs = this.now();
      this.inFlight.delete(tracked);
      this.flush(state);
    });
    this.inFlight.add(tracked);
  }

  /** eventName is `<object name>.<hex nanoseconds>`, like client-go, shortened to a valid name. */
  private eventName(objectName: string, nowMs: number): string {
    const nanos = BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(this.sequence++ % 1_000_000);
    const suffix = nanos.toString(16);
    const prefix = objectName.slice(0, MAX_NAME_LENGTH - suffix.length - 1).replace(/[-.]+$/, '');
    return `${prefix}.${suffix}`;
  }
}

/** truncateUtf8 cuts text to at most maxBytes of UTF-8, ending in `...` when cut, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const ellipsis = '...';
  const budget = maxBytes - ellipsis.length;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end) + ellipsis;
}
