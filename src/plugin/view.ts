/**
 * What the plugin shows of a Release, read defensively from its JSON: the Ready condition, one
 * entry per resource, and the optional fields of issue 15 (per-resource `drift`, `plan`,
 * `policy`; `plannedDeletions` and `retained`), which today's Releases do not have and older
 * controllers never write. Anything malformed is left out rather than trusted. Pure.
 */
import { isRecord } from '../api/object.ts';
import { withoutControls } from '../api/text.ts';
import { Annotations, ConditionTypes, HEALTH_STATUSES } from '../api/v1alpha1/constants.ts';

/** DriftView is `status.resources[].drift`: fields another manager changed, or the object deleted. */
export interface DriftView {
  fields: { path: string; manager?: string }[];
  deleted: boolean;
}

/** PlanView is `status.resources[].plan`: what a DryRun Release would do to the object. */
export interface PlanView {
  action: string;
  fields: string[];
  message?: string;
}

/** PolicyView is `status.resources[].policy`: the object's per-object apply policy. */
export interface PolicyView {
  apply?: string;
  prune?: string;
  ignoreFields: string[];
}

/** ObjectRefView names a data-plane object (plannedDeletions, retained). */
export interface ObjectRefView {
  id?: string;
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
  /** reason is why a retained object was kept. */
  reason?: string;
}

/** ResourceView is one `status.resources[]` entry. */
export interface ResourceView {
  id: string;
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
  health: string;
  reason?: string;
  message?: string;
  drift?: DriftView;
  plan?: PlanView;
  policy?: PolicyView;
}

/** ConditionView is one condition of the Release. */
export interface ConditionView {
  status: string;
  reason?: string;
  message?: string;
}

/** ReleaseView is everything the plugin shows of one Release. */
export interface ReleaseView {
  namespace: string;
  name: string;
  uid?: string;
  creationTimestamp?: string;
  environment?: string;
  /** deleting is set while the Release waits for its cleanup. */
  deleting: boolean;
  /** stale is set when the status describes an older generation of the spec. */
  stale: boolean;
  generation?: number;
  observedGeneration?: number;
  /** suspended is set while the Release carries `openchoreo.dev/suspend` (not `"false"`). */
  suspended: boolean;
  /** modes are the Release's own policy annotations that change what a pass does (DryRun, drift Report). */
  modes: string[];
  ready?: ConditionView;
  resourcesApplied?: ConditionView;
  resources: ResourceView[];
  plannedDeletions: ObjectRefView[];
  retained: ObjectRefView[];
}

/** releaseView reads a Release object (as JSON from the API server). */
export function releaseView(raw: unknown): ReleaseView {
  const obj = isRecord(raw) ? raw : {};
  const metadata = isRecord(obj['metadata']) ? obj['metadata'] : {};
  const spec = isRecord(obj['spec']) ? obj['spec'] : {};
  const status = isRecord(obj['status']) ? obj['status'] : {};
  const conditions = Array.isArray(status['conditions']) ? status['conditions'].filter(isRecord) : [];
  const condition = (type: string): ConditionView | undefined => {
    const c = conditions.find((x) => x['type'] === type);
    if (!c || typeof c['status'] !== 'string') return undefined;
    return { status: c['status'], reason: str(c['reason']), message: str(c['message']) };
  };
  const generation = metadata['generation'];
  const observed = status['observedGeneration'];
  const annotations = isRecord(metadata['annotations']) ? metadata['annotations'] : {};
  const suspend = str(annotations[Annotations.suspend]);
  const suspended = suspend !== undefined && suspend.toLowerCase() !== 'false';
  const applyMode = str(annotations[Annotations.applyMode]);
  const drift = str(annotations[Annotations.drift]);
  return {
    namespace: str(metadata['namespace']) ?? '',
    name: str(metadata['name']) ?? '',
    uid: str(metadata['uid']),
    creationTimestamp: str(metadata['creationTimestamp']),
    environment: str(spec['environmentName']),
    deleting: typeof metadata['deletionTimestamp'] === 'string',
    stale: typeof generation === 'number' && typeof observed === 'number' && observed < generation,
    ...(typeof generation === 'number' && { generation }),
    ...(typeof observed === 'number' && { observedGeneration: observed }),
    suspended,
    modes: [
      ...(suspended ? ['Suspended'] : []),
      ...(applyMode && applyMode.toLowerCase() !== 'apply' ? [applyMode] : []),
      ...(drift && drift.toLowerCase() === 'report' ? ['DriftReport'] : []),
    ],
    ready: condition(ConditionTypes.ready),
    resourcesApplied: condition(ConditionTypes.resourcesApplied),
    resources: list(status['resources']).map(resourceView),
    plannedDeletions: list(status['plannedDeletions']).map(refView),
    retained: list(status['retained']).map(refView),
  };
}

function resourceView(r: Record<string, unknown>): ResourceView {
  const view: ResourceView = {
    ...refView(r),
    id: str(r['id']) ?? '',
    health: str(r['healthStatus']) ?? 'Unknown',
    reason: str(r['healthReason']),
    message: str(r['message']),
  };
  const drift = r['drift'];
  if (isRecord(drift)) {
    view.drift = {
      fields: list(drift['fields'])
        .filter((f) => typeof f['path'] === 'string')
        .map((f) => ({ path: f['path'] as string, manager: str(f['manager']) })),
      deleted: drift['deleted'] === true,
    };
  }
  const plan = r['plan'];
  if (isRecord(plan) && typeof plan['action'] === 'string') {
    view.plan = { action: plan['action'], fields: strings(plan['fields']), message: str(plan['message']) };
  }
  const policy = r['policy'];
  if (isRecord(policy)) {
    view.policy = {
      apply: str(policy['apply']),
      prune: str(policy['prune']),
      ignoreFields: strings(policy['ignoreFields']),
    };
  }
  return view;
}

function refView(r: Record<string, unknown>): ObjectRefView & { id: string | undefined } {
  return {
    id: str(r['id']),
    group: str(r['group']) ?? '',
    version: str(r['version']) ?? '',
    kind: str(r['kind']) ?? '',
    namespace: str(r['namespace']) || undefined,
    name: str(r['name']) ?? '',
    reason: str(r['reason']),
  };
}

/** isDrifted tells whether a resource is drifted (Report mode). */
export function isDrifted(r: ResourceView): boolean {
  return r.drift !== undefined && (r.drift.deleted || r.drift.fields.length > 0);
}

/** healthCounts counts resources per health, in the order best first, leaving out zeros: `3 Healthy, 1 Progressing`. */
export function healthCounts(resources: readonly ResourceView[]): string {
  if (resources.length === 0) return '0';
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.health, (counts.get(r.health) ?? 0) + 1);
  const order = [
    ...HEALTH_STATUSES,
    ...[...counts.keys()].filter((h) => !HEALTH_STATUSES.includes(h as never)),
  ];
  return order
    .filter((h) => (counts.get(h) ?? 0) > 0)
    .map((h) => `${counts.get(h)} ${h}`)
    .join(', ');
}

/** objectName renders `Kind namespace/name` (or `Kind name` when cluster-scoped). */
export function objectName(r: { kind: string; namespace?: string; name: string }): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

/** str reads a string for the terminal: control characters (a data plane's escape sequences) become spaces. */
function str(value: unknown): string | undefined {
  return typeof value === 'string' ? withoutControls(value) : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string').map(withoutControls)
    : [];
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}
