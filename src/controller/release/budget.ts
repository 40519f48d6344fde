/**
 * Status budget. A Release is stored whole, as one etcd value: metadata (annotations and
 * managedFields included), spec and status. etcd refuses a request larger than its
 * `--max-request-bytes` (1.5 MiB by default), and the API server then answers the status write
 * with "etcdserver: request is too large" (over 2 MiB its etcd client refuses first: "trying to
 * send message larger than max"; its own 3 MiB request limit is never the one reached, since a
 * status patch is smaller than the object it lands in): the Release would never show its state. So the status is fitted into what the rest of the object leaves,
 * and at most STATUS_BUDGET_BYTES, cutting in this order and saying so where the cut is:
 *
 * 1. every entry message and condition message has a fixed cap (always; `… (truncated: N more
 *    characters)`);
 * 2. the largest live `.status` copies are omitted (the entry's message says so; health is
 *    still computed from the whole live object);
 * 3. entry messages are shortened to a common length, no shorter than ENTRY_MESSAGE_MIN_BYTES;
 * 4. entries are omitted, the ready ones first and then from the end of the spec, and the Ready
 *    condition says how many are listed.
 *
 * Sizes are counted as the API server's JSON encoder writes them (jsonBytes), by walking the
 * values rather than serializing them; the size of a live status copy is remembered per object,
 * so a reconcile that changes nothing measures only the small fields again. Pure, except for
 * those memos.
 */
import { withoutManagedFields, type KubeObject } from '../../api/object.ts';
import { jsonStringBytes, truncateJson } from '../../api/text.ts';
import { ConditionTypes } from '../../api/v1alpha1/constants.ts';
import type { Release, ReleaseStatus, ResourceStatus } from '../../api/v1alpha1/schema.ts';
import { compareHealth, isReadyHealth } from '../../health/index.ts';

/** OBJECT_SIZE_LIMIT_BYTES is etcd's default --max-request-bytes: the stored Release must fit in it. */
export const OBJECT_SIZE_LIMIT_BYTES = 1.5 * 1024 * 1024;
/**
 * OBJECT_RESERVE_BYTES is kept free below the limit: etcd's key and request envelope (under
 * 1 KiB), our own managedFields entry for the status, and what other writes add between two
 * status fits (the Finalizing condition, an appliedTo entry, a longer resourceVersion).
 */
export const OBJECT_RESERVE_BYTES = 16 * 1024;
/**
 * STATUS_BUDGET_BYTES caps the status even when the spec is small: a status that filled the
 * object up to the limit would make the next, larger spec update fail in etcd.
 */
export const STATUS_BUDGET_BYTES = 512 * 1024;
/** ENTRY_MESSAGE_MAX_BYTES caps each status.resources[].message (encoded, quotes included). */
export const ENTRY_MESSAGE_MAX_BYTES = 1024;
/** ENTRY_MESSAGE_MIN_BYTES is as short as messages are cut before entries are omitted instead. */
export const ENTRY_MESSAGE_MIN_BYTES = 160;
/** CONDITION_MESSAGE_MAX_BYTES caps each condition message (encoded, quotes included). */
export const CONDITION_MESSAGE_MAX_BYTES = 2048;

/** `,"status":` and the like: the bytes a key adds to an object that has other keys. */
const keyBytes = (key: string) => jsonStringBytes(key) + 2;
const STATUS_KEY_BYTES = keyBytes('status');
const MESSAGE_KEY_BYTES = keyBytes('message');
const RESOURCES_KEY_BYTES = keyBytes('resources');

/**
 * jsonBytes is the size of a JSON value as the API server's encoder writes it: compact, with Go's
 * escaping (jsonStringBytes). Keys whose value is undefined are skipped, as JSON.stringify does.
 */
export function jsonBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return jsonStringBytes(value);
    case 'number':
      return String(value).length;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let bytes = 1 + Math.max(1, value.length);
        for (const v of value as unknown[]) bytes += jsonBytes(v);
        return bytes;
      }
      let bytes = 1;
      let fields = 0;
      for (const key in value) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined) continue;
        bytes += jsonStringBytes(key) + 1 + jsonBytes(v);
        fields++;
      }
      return bytes + Math.max(1, fields);
    }
    default:
      return 4;
  }
}

/** withoutStatusBytes remembers, per cached Release, the stored size of everything but its status. */
const withoutStatusBytes = new WeakMap<object, number>();
/** liveStatusBytes remembers the size of live status objects (the watch caches replace, never mutate them). */
const liveStatusBytes = new WeakMap<object, number>();

/**
 * slimRelease drops managedFields from a Release for the caches (often its largest part, never
 * read), after measuring the stored object without its status: managedFields count against the
 * object size limit too.
 */
export function slimRelease(obj: KubeObject): Release {
  const slim = withoutManagedFields<Release>(obj);
  withoutStatusBytes.set(slim, jsonBytes({ ...obj, status: undefined }));
  return slim;
}

/**
 * storedBytesWithoutStatus is the stored size of a Release without its status, as measured by
 * slimRelease (which counted managedFields), or measured now.
 */
export function storedBytesWithoutStatus(release: Release): number {
  let bytes = withoutStatusBytes.get(release);
  if (bytes === undefined) {
    bytes = jsonBytes({ ...release, status: undefined });
    withoutStatusBytes.set(release, bytes);
  }
  return bytes;
}

/** statusBudget is how many bytes the status of a Release may take: what the rest leaves, at most STATUS_BUDGET_BYTES. */
export function statusBudget(release: Release): number {
  const left =
    OBJECT_SIZE_LIMIT_BYTES - OBJECT_RESERVE_BYTES - storedBytesWithoutStatus(release) - STATUS_KEY_BYTES;
  return Math.max(0, Math.min(STATUS_BUDGET_BYTES, left));
}

/** FitResult is a status that fits its budget, and what was cut to make it fit. */
export interface FitResult {
  status: ReleaseStatus;
  /** statusOmitted are the ids of entries whose live status copy was left out. */
  statusOmitted: string[];
  /** messagesCut counts entry messages shortened below ENTRY_MESSAGE_MAX_BYTES. */
  messagesCut: number;
  /** entriesOmitted counts entries left out of status.resources. */
  entriesOmitted: number;
}

/** Work is one entry while it is fitted: its parts, with their sizes. */
interface Work {
  index: number;
  /** base is the entry without message and status. */
  base: ResourceStatus;
  baseBytes: number;
  message: string;
  messageBytes: number;
  /** hadMessage keeps an empty message key where there was one. */
  hadMessage: boolean;
  /** note is what was omitted, after the message. */
  note: string;
  noteBytes: number;
  live: unknown;
  liveBytes: number;
}

/**
 * fitStatus returns the status cut to fit in `budget` bytes (see the module comment for the
 * order of cuts). Entry messages are expected within ENTRY_MESSAGE_MAX_BYTES and condition
 * messages within CONDITION_MESSAGE_MAX_BYTES already (status.ts caps them as it writes them). A
 * status that fits is returned as it is.
 */
export function fitStatus(status: ReleaseStatus, budget: number): FitResult {
  const fit: FitResult = { status, statusOmitted: [], messagesCut: 0, entriesOmitted: 0 };
  const resources = status.resources ?? [];
  const restBytes = jsonBytes({ ...status, resources: undefined }) + RESOURCES_KEY_BYTES;
  // The common case measures without copying anything.
  let entriesBytes = 1 + Math.max(1, resources.length);
  for (const e of resources) entriesBytes += entryBytes(e);
  if (restBytes + entriesBytes <= budget) return fit;
  const room = budget - restBytes;
  const work = resources.map(toWork);

  // 1. Live status copies, largest first: they are the bulk, and the data plane keeps them.
  const budgetKiB = Math.floor(budget / 1024);
  const byLive = work.filter((w) => w.live !== undefined).sort((a, b) => b.liveBytes - a.liveBytes);
  for (const w of byLive) {
    if (entriesBytes <= room) break;
    const before = workBytes(w);
    w.note = `live status (${Math.ceil(w.liveBytes / 1024)} KiB) omitted to keep the Release status under ${budgetKiB} KiB`;
    w.noteBytes = jsonStringBytes(w.note);
    w.live = undefined;
    entriesBytes += workBytes(w) - before;
    fit.statusOmitted.push(w.base.id);
  }

  // 2. Messages, cut to one common length: the longest lose most, short ones stay whole.
  if (entriesBytes > room) {
    const sizes = work.map((w) => (w.message ? w.messageBytes : 0));
    const fixed = entriesBytes - sizes.reduce((a, b) => a + b, 0);
    const fits = (max: number) => fixed + sizes.reduce((sum, s) => sum + Math.min(s, max), 0) <= room;
    let max = ENTRY_MESSAGE_MIN_BYTES;
    if (fits(max)) {
      let high = sizes.reduce((a, b) => Math.max(a, b), 0);
      while (max < high) {
        const mid = Math.ceil((max + high) / 2);
        if (fits(mid)) max = mid;
        else high = mid - 1;
      }
    }
    for (const w of work) {
      if (!w.message || w.messageBytes <= max) continue;
      const before = workBytes(w);
      w.message = truncateJson(w.message, max);
      w.messageBytes = jsonStringBytes(w.message);
      entriesBytes += workBytes(w) - before;
      fit.messagesCut++;
    }
  }

  // 3. Entries: the ones that are not ready are kept first (worst health first), then spec order.
  let kept = work;
  let conditions = status.conditions;
  if (entriesBytes > room) {
    const readyIndex = conditions?.findIndex((c) => c.type === ConditionTypes.ready) ?? -1;
    const noteBytes = readyIndex >= 0 ? jsonStringBytes(omittedNote(work.length, work.length)) - 2 : 0;
    const byImportance = [...work].sort(
      (a, b) =>
        Number(isReadyHealth(a.base.healthStatus)) - Number(isReadyHealth(b.base.healthStatus)) ||
        compareHealth(a.base.healthStatus, b.base.healthStatus) ||
        a.index - b.index,
    );
    let bytes = 2;
    const keep = new Set<Work>();
    for (const w of byImportance) {
      const size = workBytes(w) + (keep.size > 0 ? 1 : 0);
      if (bytes + size > room - noteBytes) break;
      bytes += size;
      keep.add(w);
    }
    kept = work.filter((w) => keep.has(w));
    fit.entriesOmitted = work.length - kept.length;
    if (conditions && readyIndex >= 0) {
      conditions = conditions.map((c, i) =>
        i === readyIndex ? { ...c, message: `${c.message}${omittedNote(kept.length, work.length)}` } : c,
      );
    }
  }
  fit.status = { ...status, resources: kept.map(toEntry), ...(conditions && { conditions }) };
  return fit;
}

/** omittedNote ends the Ready message when status.resources lists only some resources. */
function omittedNote(listed: number, total: number): string {
  return `; status.resources lists ${listed} of ${total} resources: the rest did not fit in the Release's size limit`;
}

/** liveBytesOf measures a live status copy, once per object. */
function liveBytesOf(live: unknown): number {
  if (typeof live !== 'object' || live === null) return jsonBytes(live);
  let bytes = liveStatusBytes.get(live);
  if (bytes === undefined) {
    bytes = jsonBytes(live);
    liveStatusBytes.set(live, bytes);
  }
  return bytes;
}

/** entryBytes is jsonBytes of an entry, its live status measured once per object. */
function entryBytes(entry: ResourceStatus): number {
  let bytes = 1;
  let fields = 0;
  for (const key in entry) {
    const v = (entry as Record<string, unknown>)[key];
    if (v === undefined) continue;
    bytes += jsonStringBytes(key) + 1 + (key === 'status' ? liveBytesOf(v) : jsonBytes(v));
    fields++;
  }
  return bytes + Math.max(1, fields);
}

function toWork(entry: ResourceStatus, index: number): Work {
  const { message, status: live, ...base } = entry;
  return {
    index,
    base,
    baseBytes: jsonBytes(base),
    message: message ?? '',
    messageBytes: jsonStringBytes(message ?? ''),
    hadMessage: message !== undefined,
    note: '',
    noteBytes: 0,
    live,
    liveBytes: live === undefined ? 0 : liveBytesOf(live),
  };
}

function composedMessage(w: Work): string {
  return w.message && w.note ? `${w.message}; ${w.note}` : w.message || w.note;
}

/** workBytes is the size of the entry toEntry makes of `w`. */
function workBytes(w: Work): number {
  let bytes = w.baseBytes;
  if (w.live !== undefined) bytes += STATUS_KEY_BYTES + w.liveBytes;
  if (w.hadMessage || w.note) {
    bytes += MESSAGE_KEY_BYTES;
    // `message; note`: one pair of quotes fewer, and the two bytes of `; ` instead.
    if (w.message && w.note) bytes += w.messageBytes + w.noteBytes;
    else bytes += w.message ? w.messageBytes : w.note ? w.noteBytes : 2;
  }
  return bytes;
}

function toEntry(w: Work): ResourceStatus {
  const message = composedMessage(w);
  return {
    ...w.base,
    ...(message || w.hadMessage ? { message } : {}),
    ...(w.live !== undefined ? { status: w.live } : {}),
  };
}
