/**
 * What the web view shows, read defensively from the control plane's JSON: a row per Release for
 * the Releases page, the whole picture of one Release for its own page (conditions, resources with
 * their live status, drift, plan and policy, planned deletions, retained objects), its Events with
 * repeats folded, and its Environment and DataPlane without their credentials. Pure: objects in,
 * plain JSON out (what the server streams to the page).
 */
import { isRecord } from '../../api/object.ts';
import { Annotations, HEALTH_STATUSES, ReleaseApplyModes } from '../../api/v1alpha1/constants.ts';
import { eventView, sortEvents, type EventView } from '../events.ts';
import { isDrifted, releaseView, type ObjectRefView, type ResourceView } from '../view.ts';

/** HEALTH_RANK orders health worst first, which is how the pages sort. */
const HEALTH_RANK: Record<string, number> = {
  Degraded: 0,
  Unknown: 1,
  Progressing: 2,
  Suspended: 3,
  Healthy: 4,
};

/** ReleaseRow is one row of the Releases page. */
export interface ReleaseRow {
  /** key is `namespace/name`, the row's identity on the page. */
  key: string;
  namespace: string;
  name: string;
  /** ready is the Ready condition's status (`Unknown` when there is none yet). */
  ready: string;
  reason: string;
  message: string;
  /** counts are the resources per health, every health of the API present (zeros too). */
  counts: Record<string, number>;
  total: number;
  drifted: number;
  /** preview is set for a Release in apply mode DryRun. */
  preview: boolean;
  deleting: boolean;
  stale: boolean;
  creationTimestamp?: string;
  /** health is the Release's overall health: the worst of its resources, Degraded when not applied. */
  health: string;
}

/** ConditionRow is one condition of a Release. */
export interface ConditionRow {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

/** ResourceDetail is one resource of a Release with its live `.status` copy. */
export interface ResourceDetail extends ResourceView {
  /** status is the object's live `.status` as the controller copied it. */
  status?: unknown;
  lastObservedTime?: string;
}

/** ReleaseDetail is the Release page (without Events and placement, which come from other objects). */
export interface ReleaseDetail {
  row: ReleaseRow;
  environment?: string;
  /** driftMode and applyMode are the Release's own policy annotations, when set. */
  driftMode?: string;
  applyMode?: string;
  deletionPolicy?: string;
  conditions: ConditionRow[];
  resources: ResourceDetail[];
  plannedDeletions: ObjectRefView[];
  retained: ObjectRefView[];
}

/** PlacementView is an Environment or DataPlane as the Release page shows it (never credentials). */
export interface PlacementView {
  kind: 'Environment' | 'DataPlane';
  name: string;
  /** found is false when the object does not exist (or the user may not read it: see error). */
  found: boolean;
  error?: string;
  /** facts are what its spec says that matters to a person, as label/value pairs. */
  facts: [string, string][];
  conditions: ConditionRow[];
}

/** releaseRow summarises a Release for the Releases page. */
export function releaseRow(raw: unknown): ReleaseRow {
  const view = releaseView(raw);
  const counts: Record<string, number> = Object.fromEntries(HEALTH_STATUSES.map((h) => [h, 0]));
  for (const r of view.resources) counts[r.health] = (counts[r.health] ?? 0) + 1;
  const annotations = annotationsOf(raw);
  const ready = view.ready?.status ?? 'Unknown';
  let health = view.resources.reduce(
    (worst, r) => ((HEALTH_RANK[r.health] ?? 1) < (HEALTH_RANK[worst] ?? 1) ? r.health : worst),
    'Healthy',
  );
  if (view.resources.length === 0) health = ready === 'True' ? 'Healthy' : 'Unknown';
  // A Release that failed to apply is not healthy, whatever its objects say.
  if (view.resourcesApplied?.status === 'False') health = 'Degraded';
  return {
    key: `${view.namespace}/${view.name}`,
    namespace: view.namespace,
    name: view.name,
    ready,
    reason: view.deleting ? 'Deleting' : (view.ready?.reason ?? ''),
    message: view.ready?.message ?? '',
    counts,
    total: view.resources.length,
    drifted: view.resources.filter(isDrifted).length,
    preview: annotations[Annotations.applyMode] === ReleaseApplyModes.dryRun,
    deleting: view.deleting,
    stale: view.stale,
    ...(view.creationTimestamp ? { creationTimestamp: view.creationTimestamp } : {}),
    health,
  };
}

/** releaseDetail reads everything of one Release that its page shows. */
export function releaseDetail(raw: unknown): ReleaseDetail {
  const view = releaseView(raw);
  const obj = isRecord(raw) ? raw : {};
  const status = isRecord(obj['status']) ? obj['status'] : {};
  const rawResources = Array.isArray(status['resources']) ? status['resources'].filter(isRecord) : [];
  const annotations = annotationsOf(raw);
  return {
    row: releaseRow(raw),
    ...(view.environment ? { environment: view.environment } : {}),
    ...optional('driftMode', annotations[Annotations.drift]),
    ...optional('applyMode', annotations[Annotations.applyMode]),
    ...optional('deletionPolicy', annotations[Annotations.deletionPolicy]),
    conditions: conditionRows(status['conditions']),
    resources: view.resources.map((r, i) => {
      const source = rawResources[i];
      return {
        ...r,
        ...(source && 'status' in source ? { status: source['status'] } : {}),
        ...optional('lastObservedTime', source?.['lastObservedTime']),
      };
    }),
    plannedDeletions: view.plannedDeletions,
    retained: view.retained,
  };
}

/** conditionRows reads a `status.conditions` list. */
export function conditionRows(raw: unknown): ConditionRow[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(isRecord).flatMap((c) =>
    typeof c['type'] === 'string'
      ? [
          {
            type: c['type'],
            status: typeof c['status'] === 'string' ? c['status'] : 'Unknown',
            reason: typeof c['reason'] === 'string' ? c['reason'] : '',
            message: typeof c['message'] === 'string' ? c['message'] : '',
            ...optional('lastTransitionTime', c['lastTransitionTime']),
          },
        ]
      : [],
  );
}

/** TimelineEntry is one line of a Release's Event timeline: repeats of the same Event folded into it. */
export interface TimelineEntry extends EventView {
  /** key identifies the entry on the page (stable while repeats fold into it). */
  key: string;
}

/**
 * eventTimeline sorts a Release's Events oldest first and folds runs of the same type, reason and
 * message into one entry (counts added up, first and last occurrence kept), so a reconcile that
 * repeats itself is one line, as `kubectl events` shows a series.
 */
export function eventTimeline(raw: readonly unknown[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const e of sortEvents(raw.map(eventView))) {
    const previous = out[out.length - 1];
    if (
      previous &&
      previous.type === e.type &&
      previous.reason === e.reason &&
      previous.message === e.message
    ) {
      previous.count += e.count;
      previous.last = e.last ?? previous.last;
      continue;
    }
    out.push({ ...e, key: `${out.length}:${e.reason}:${e.first ?? ''}` });
  }
  return out;
}

/** environmentView describes an Environment (its DataPlane, whether it is production, its conditions). */
export function environmentView(name: string, raw: unknown, error?: string): PlacementView {
  if (!isRecord(raw))
    return {
      kind: 'Environment',
      name,
      found: false,
      facts: [],
      conditions: [],
      ...optional('error', error),
    };
  const spec = isRecord(raw['spec']) ? raw['spec'] : {};
  const status = isRecord(raw['status']) ? raw['status'] : {};
  const facts: [string, string][] = [];
  if (typeof spec['dataPlaneRef'] === 'string') facts.push(['DataPlane', spec['dataPlaneRef']]);
  if (typeof spec['isProduction'] === 'boolean')
    facts.push(['Production', spec['isProduction'] ? 'yes' : 'no']);
  return { kind: 'Environment', name, found: true, facts, conditions: conditionRows(status['conditions']) };
}

/**
 * dataPlaneView describes a DataPlane: its cluster's name, how it is reached (a Secret's name,
 * inline credentials or a tunnel; never the credentials themselves) and its conditions.
 */
export function dataPlaneView(name: string, raw: unknown, error?: string): PlacementView {
  if (!isRecord(raw))
    return { kind: 'DataPlane', name, found: false, facts: [], conditions: [], ...optional('error', error) };
  const spec = isRecord(raw['spec']) ? raw['spec'] : {};
  const status = isRecord(raw['status']) ? raw['status'] : {};
  const cluster = isRecord(spec['kubernetesCluster']) ? spec['kubernetesCluster'] : {};
  const facts: [string, string][] = [];
  if (typeof cluster['name'] === 'string') facts.push(['Cluster', cluster['name']]);
  const secretRef = isRecord(cluster['secretRef']) ? cluster['secretRef'] : undefined;
  if (secretRef && typeof secretRef['name'] === 'string')
    facts.push(['Credentials', `kubeconfig in Secret ${secretRef['name']}`]);
  else if (isRecord(cluster['credentials'])) facts.push(['Credentials', 'inline']);
  if (isRecord(cluster['tunnel'])) facts.push(['Connection', 'through a tunnel']);
  if (isRecord(spec['resourcePolicy']))
    facts.push(['Resource policy', 'set (narrows what Releases may target)']);
  return { kind: 'DataPlane', name, found: true, facts, conditions: conditionRows(status['conditions']) };
}

/** healthRank orders health worst first (unknown values with Unknown). */
export function healthRank(health: string): number {
  return HEALTH_RANK[health] ?? 1;
}

function annotationsOf(raw: unknown): Record<string, string> {
  const metadata = isRecord(raw) && isRecord(raw['metadata']) ? raw['metadata'] : {};
  const annotations = isRecord(metadata['annotations']) ? metadata['annotations'] : {};
  return Object.fromEntries(
    Object.entries(annotations).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

function optional<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  return typeof value === 'string' && value !== '' ? ({ [key]: value } as Record<K, string>) : {};
}
