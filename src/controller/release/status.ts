/**
 * Status: the inventory (`status.resources`, one entry per spec item in spec order, each with the
 * uid the controller recorded for its object, inventory.ts) and the
 * `ResourcesApplied` and `Ready` conditions, computed from what the apply step saw, and fitted
 * into the Release's size budget (budget.ts). Pure.
 */
import { trackingOf } from '../../api/v1alpha1/profile.ts';
import { describeRef, jsonEqual, parseApiVersion } from '../../api/object.ts';
import {
  Annotations,
  ConditionTypes,
  DriftModes,
  Reasons,
  ReleaseApplyModes,
  ResourceReasons,
} from '../../api/v1alpha1/constants.ts';
import type {
  Condition,
  Release,
  ReleaseStatus,
  ResourceStatus,
  RetainedObject as RetainedEntry,
} from '../../api/v1alpha1/schema.ts';
import { identityOf } from '../../dataplane/port.ts';
import type { RetainedObject } from '../../ssa/delete.ts';
import type { FailureKind } from '../../ssa/failure.ts';
import { listWithMore, truncateJson, withoutControls } from '../../api/text.ts';
import { assessHealth, compareHealth, isReadyHealth, type HealthResult } from '../../health/index.ts';
import type { HealthOverride } from '../../health/rules/registry.ts';
import type { ItemOutcome } from './apply.ts';
import { provenance, type Inventory } from './inventory.ts';
import { CONDITION_MESSAGE_MAX_BYTES, ENTRY_MESSAGE_MAX_BYTES, fitStatus } from './budget.ts';

export { STATUS_BUDGET_BYTES } from './budget.ts';

/** CONDITION_ITEM_MAX_BYTES caps each object a condition message names, so that several fit in it. */
const CONDITION_ITEM_MAX_BYTES = 512;

/** ResolveFailure explains why the data plane of a Release is unknown. */
export interface ResolveFailure {
  reason: string;
  message: string;
}

/**
 * resourceStatuses builds status.resources in spec order, keeping lastObservedTime when nothing
 * changed. Each entry records the proof of its object (inventory.ts provenance) for the Release
 * with uid `releaseUid`; a preview (or no uid) records nothing new and keeps what was recorded.
 * `rules` are the operator's HealthRules, evaluated beforehand (HealthRuleRegistry.prepare).
 */
export function resourceStatuses(
  outcomes: ItemOutcome[],
  previous: ResourceStatus[] | undefined,
  now: Date,
  record: { releaseUid?: string; preview?: boolean; known?: Inventory } = {},
  rules?: HealthOverride,
): ResourceStatus[] {
  const before = new Map((previous ?? []).map((r) => [r.id, r]));
  return outcomes.map((o) => resourceStatus(o, before.get(o.item.id), now, record, rules));
}

function resourceStatus(
  o: ItemOutcome,
  prev: ResourceStatus | undefined,
  now: Date,
  record: { releaseUid?: string; preview?: boolean; known?: Inventory },
  rules: HealthOverride | undefined,
): ResourceStatus {
  const { item, live } = o;
  const health: HealthResult =
    o.state === 'waiting'
      ? { status: 'Progressing', reason: 'WaitingForCRD', message: o.message ?? '' }
      : assessHealth(live, now, rules);
  // An object that is not there because its apply failed says why, not just NotFound.
  const reason = !live && o.state !== 'applied' && o.state !== 'waiting' ? causeReason(o) : health.reason;
  const namespace = o.namespaced === false ? '' : (live?.metadata.namespace ?? item.namespace);
  const entry: ResourceStatus = {
    id: item.id,
    group: item.group,
    version: item.version,
    kind: item.kind,
    name: live?.metadata.name ?? item.name,
    namespace,
    healthStatus: health.status,
    healthReason: reason,
    // An applied object's message is its health, unless it is missing and the apply step says why.
    message: truncateJson(
      withoutControls(
        (o.state === 'applied' && (live || !o.message)) || o.state === 'waiting'
          ? health.message
          : (o.message ?? health.message),
      ),
      ENTRY_MESSAGE_MAX_BYTES,
    ),
  };
  const liveStatus = live?.['status'];
  if (liveStatus !== undefined) entry.status = liveStatus;
  if (o.plan) entry.plan = o.plan;
  // A token is checked against the live object before it spares an apply, so an older one is
  // kept while no newer is known (a failed apply, an unreachable data plane, a preview).
  const applied = o.applied ?? prev?.applied;
  if (applied) entry.applied = applied;
  const proof =
    record.releaseUid && !record.preview
      ? provenance(o, prev, record.releaseUid, record.known)
      : prev?.uid && prev.origin && prev.removal
        ? { uid: prev.uid, origin: prev.origin, removal: prev.removal }
        : undefined;
  if (proof) Object.assign(entry, proof);
  // Reported drift only: a corrected one is told by an Event, the object is as applied again.
  if (o.drift && !o.drift.corrected)
    entry.drift = { fields: o.drift.fields, ...(o.drift.deleted && { deleted: true }) };
  // An object whose spec turned invalid keeps its last policy, so a prune: Disabled still holds.
  const policy = item.ok ? item.policy : prev?.policy;
  if (policy) entry.policy = policy;
  const same =
    prev !== undefined &&
    prev.healthStatus === entry.healthStatus &&
    prev.kind === entry.kind &&
    prev.name === entry.name &&
    prev.namespace === entry.namespace &&
    jsonEqual(prev.status, entry.status);
  entry.lastObservedTime = same && prev.lastObservedTime ? prev.lastObservedTime : now.toISOString();
  return entry;
}

/**
 * boundStatus fits a status into `budget` bytes (budget.ts fitStatus). An entry whose live status
 * copy is omitted now and was omitted before keeps its lastObservedTime while its health and
 * object stay the same: what it shows did not change, and a new time would be a status write on
 * every reconcile.
 */
export function boundStatus(
  status: ReleaseStatus,
  budget: number,
  previous: ResourceStatus[] | undefined,
): ReleaseStatus {
  const fit = fitStatus(status, budget);
  if (fit.statusOmitted.length === 0) return fit.status;
  const omitted = new Set(fit.statusOmitted);
  const before = new Map((previous ?? []).map((r) => [r.id, r]));
  const resources = (fit.status.resources ?? []).map((entry) => {
    const prev = before.get(entry.id);
    const same =
      omitted.has(entry.id) &&
      prev !== undefined &&
      prev.status === undefined &&
      prev.lastObservedTime !== undefined &&
      prev.healthStatus === entry.healthStatus &&
      prev.kind === entry.kind &&
      prev.name === entry.name &&
      prev.namespace === entry.namespace;
    return same ? { ...entry, lastObservedTime: prev.lastObservedTime } : entry;
  });
  return { ...fit.status, resources };
}

/** MAX_RETAINED bounds status.retained; the oldest entries go first. */
export const MAX_RETAINED = 100;

/**
 * retainedStatus is status.retained: the objects kept before, plus those kept now, once each
 * (newest last, at most MAX_RETAINED), without those the Release applies again.
 */
export function retainedStatus(
  previous: readonly RetainedEntry[] | undefined,
  now: readonly RetainedObject[],
  outcomes: readonly ItemOutcome[],
): RetainedEntry[] | undefined {
  if (!previous?.length && now.length === 0) return undefined;
  const key = (e: { group: string; kind: string; namespace?: string; name: string }) =>
    identityOf(e.group, e.kind, e.namespace || undefined, e.name);
  const applied = new Set(
    outcomes
      .filter((o) => o.state === 'applied' && o.live)
      .map((o) => key({ ...o.item, namespace: o.live?.metadata.namespace ?? '' })),
  );
  const added: RetainedEntry[] = now.map((m) => {
    const { group, version } = parseApiVersion(m.object.apiVersion || `${m.info.group}/${m.info.version}`);
    const id = trackingOf(m.object)?.resourceId;
    return {
      ...(id && { id }),
      group: group || m.info.group,
      version: version || m.info.version,
      kind: m.info.kind,
      ...(m.object.metadata.namespace && { namespace: m.object.metadata.namespace }),
      name: m.object.metadata.name ?? '',
      reason: m.reason,
    };
  });
  const byKey = new Map<string, RetainedEntry>();
  for (const e of [...(previous ?? []), ...added]) {
    byKey.delete(key(e));
    if (!applied.has(key(e))) byKey.set(key(e), e);
  }
  const list = [...byKey.values()].slice(-MAX_RETAINED);
  return list.length > 0 ? list : undefined;
}

/** ConditionInput is a condition without its bookkeeping fields. */
export type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/** setCondition returns conditions with one replaced, keeping lastTransitionTime when the status did not change. */
export function setCondition(
  conditions: Condition[] | undefined,
  next: ConditionInput,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const cond: Condition = {
    ...next,
    message: truncateJson(withoutControls(next.message), CONDITION_MESSAGE_MAX_BYTES),
    observedGeneration: generation,
    lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString(),
  };
  if (i >= 0) list[i] = cond;
  else list.push(cond);
  return list;
}

/** removeCondition returns conditions without the given type. */
export function removeCondition(conditions: Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

const MAX_LISTED = 3;

/** appliedCondition summarises the apply step as the ResourcesApplied condition. */
export function appliedCondition(outcomes: ItemOutcome[]): ConditionInput {
  const problems = outcomes.filter((o) => o.state !== 'applied');
  if (problems.length === 0) {
    return {
      type: ConditionTypes.resourcesApplied,
      status: 'True',
      reason: Reasons.applied,
      message: `${outcomes.length} resource${outcomes.length === 1 ? '' : 's'} applied`,
    };
  }
  // The condition names the cause that matters most: a silent data plane before a bad object.
  const reasons = new Set(problems.map(outcomeReason));
  const reason = OUTCOME_REASONS_BY_WEIGHT.find((r) => reasons.has(r)) ?? Reasons.waitingForCRD;
  const listed = problemMessages(problems).map((m) => truncateJson(m, CONDITION_ITEM_MAX_BYTES));
  return {
    type: ConditionTypes.resourcesApplied,
    status: 'False',
    reason,
    message: `${problems.length} of ${outcomes.length} resources not applied: ${listWithMore(listed, MAX_LISTED)}`,
  };
}

/** MAX_IDS_LISTED is how many ids a message shared by several resources names. */
const MAX_IDS_LISTED = 5;

/**
 * problemMessages says why each item was not applied, a message that several items share (the data
 * plane did not answer, a namespace could not be created, a webhook is down) once with their ids:
 * `resources "a", "b" and 3 more: the data plane did not answer: ...`. Order is first appearance.
 */
export function problemMessages(problems: readonly ItemOutcome[]): string[] {
  const groups = new Map<string, { ids: string[]; first: string }>();
  for (const o of problems) {
    const message = o.message ?? `resource "${o.item.id}" not applied`;
    const cause = sharedCause(o, message);
    const group = groups.get(cause);
    if (group) group.ids.push(o.item.id);
    else groups.set(cause, { ids: [o.item.id], first: message });
  }
  return [...groups].map(([cause, { ids, first }]) => {
    if (ids.length === 1) return first;
    const shown = ids.slice(0, MAX_IDS_LISTED).map((id) => JSON.stringify(id));
    const more = ids.length > MAX_IDS_LISTED ? ` and ${ids.length - MAX_IDS_LISTED} more` : '';
    return `resources ${shown.join(', ')}${more}: ${cause}`;
  });
}

/**
 * sharedCause is an item's message without what names the item (`resource "id": ` and its
 * `Kind/namespace/name: `), so that items failing for one cause compare equal.
 */
function sharedCause(o: ItemOutcome, message: string): string {
  let rest = message;
  const prefix = `resource ${JSON.stringify(o.item.id)}: `;
  if (rest.startsWith(prefix)) rest = rest.slice(prefix.length);
  if (o.item.ok) {
    const ref = `${describeRef({ kind: o.item.kind, name: o.item.name, namespace: o.item.namespace })}: `;
    if (rest.startsWith(ref)) rest = rest.slice(ref.length);
  }
  return rest;
}

/** OUTCOME_REASONS_BY_WEIGHT orders the reasons of unapplied items, the one a condition shows first. */
const OUTCOME_REASONS_BY_WEIGHT = [
  Reasons.dataPlaneUnreachable,
  Reasons.invalidResource,
  Reasons.notAllowed,
  Reasons.conflict,
  Reasons.applyFailed,
  Reasons.waitingForCRD,
] as const;

/** outcomeReason is the reason of an item the apply step did not apply: the condition's and its healthReason. */
function outcomeReason(o: ItemOutcome): (typeof OUTCOME_REASONS_BY_WEIGHT)[number] {
  if (o.unreachable) return Reasons.dataPlaneUnreachable;
  switch (o.state) {
    case 'invalid':
      return Reasons.invalidResource;
    case 'notAllowed':
      return Reasons.notAllowed;
    case 'conflict':
      return Reasons.conflict;
    case 'failed':
    case 'recreating':
      return Reasons.applyFailed;
    default:
      return Reasons.waitingForCRD;
  }
}

/** CAUSE_REASONS is the healthReason of an item the data plane refused, by the failure's kind. */
const CAUSE_REASONS: Record<FailureKind, string> = {
  Invalid: Reasons.invalidResource,
  Immutable: ResourceReasons.immutable,
  TooLarge: ResourceReasons.tooLarge,
  UnknownKind: ResourceReasons.unknownKind,
  Unreachable: Reasons.dataPlaneUnreachable,
  NamespaceMissing: ResourceReasons.namespaceMissing,
  Conflict: Reasons.conflict,
  Forbidden: ResourceReasons.forbidden,
  Unauthorized: ResourceReasons.unauthorized,
  AdmissionDenied: ResourceReasons.admissionDenied,
  WebhookUnavailable: ResourceReasons.webhookUnavailable,
  Failed: Reasons.applyFailed,
};

/**
 * causeReason is the healthReason of an item that was not applied: the cause the data plane gave
 * (UnknownKind, Forbidden, WebhookUnavailable, ...), else the condition's reason for its state.
 */
function causeReason(o: ItemOutcome): string {
  if (o.unreachable) return Reasons.dataPlaneUnreachable;
  return o.failure ? CAUSE_REASONS[o.failure] : outcomeReason(o);
}

/** describeDrift renders a drift report: `/spec/replicas (kubectl-edit), /data/a`, or `deleted`. */
export function describeDrift(drift: {
  fields: Array<{ path: string; manager?: string }>;
  deleted?: boolean;
}): string {
  if (drift.deleted) return 'deleted (or stripped of our labels) by someone else';
  return listWithMore(
    drift.fields.map((f) => (f.manager ? `${f.path} (now ${f.manager}'s)` : `${f.path} (removed)`)),
    5,
    ', ',
  );
}

/** readyCondition is True when everything is applied and every resource is Healthy or Suspended. */
export function readyCondition(applied: ConditionInput, resources: ResourceStatus[]): ConditionInput {
  const bad = resources
    .filter((r) => !isReadyHealth(r.healthStatus))
    .sort((a, b) => compareHealth(a.healthStatus, b.healthStatus));
  const worst = bad.map((r) =>
    truncateJson(
      `${describeRef({ kind: r.kind, name: r.name, namespace: r.namespace })}: ${r.healthStatus}${r.message ? ` (${r.message})` : ''}`,
      CONDITION_ITEM_MAX_BYTES,
    ),
  );
  if (applied.status !== 'True') {
    return { type: ConditionTypes.ready, status: 'False', reason: applied.reason, message: applied.message };
  }
  const drifted = resources.filter((r) => r.drift);
  if (drifted.length > 0) {
    const listed = drifted.map(
      (r) =>
        `${describeRef({ kind: r.kind, name: r.name, namespace: r.namespace })}: ${describeDrift(r.drift!)}`,
    );
    return {
      type: ConditionTypes.ready,
      status: 'False',
      reason: Reasons.drifted,
      message: `${drifted.length} of ${resources.length} resources drifted and not corrected (${Annotations.drift}: ${DriftModes.report}): ${listWithMore(listed, MAX_LISTED)}`,
    };
  }
  if (bad.length === 0) {
    return {
      type: ConditionTypes.ready,
      status: 'True',
      reason: Reasons.ready,
      message:
        resources.length === 0
          ? 'no resources'
          : `all ${resources.length} resources are Healthy or Suspended`,
    };
  }
  const degraded = bad.some((r) => r.healthStatus === 'Degraded');
  return {
    type: ConditionTypes.ready,
    status: 'False',
    reason: degraded ? Reasons.degraded : Reasons.progressing,
    message: `${bad.length} of ${resources.length} resources not ready: ${listWithMore(worst, MAX_LISTED)}`,
  };
}

/**
 * previewConditions are ResourcesApplied and Ready of a previewed Release (apply mode DryRun):
 * False, reason Previewed, counting the plans (and naming what would fail).
 */
export function previewConditions(
  resources: ResourceStatus[],
  deletions: number | undefined,
): [ConditionInput, ConditionInput] {
  const message =
    `dry run (${Annotations.applyMode}: ${ReleaseApplyModes.dryRun}), nothing was changed on the data plane: ` +
    planSummary(resources, deletions);
  const applied = {
    type: ConditionTypes.resourcesApplied,
    status: 'False' as const,
    reason: Reasons.previewed,
    message,
  };
  return [applied, { ...applied, type: ConditionTypes.ready }];
}

/**
 * suspendedConditions are ResourcesApplied and Ready of a suspended Release (annotation
 * `openchoreo.dev/suspend`): False, reason Suspended, saying what a resume would do and how to
 * resume. Suspended wins over DryRun: it is the operator's hold on the Release.
 */
export function suspendedConditions(
  name: string,
  resources: ResourceStatus[],
  deletions: number | undefined,
): [ConditionInput, ConditionInput] {
  const unhealthy = resources.filter((r) => !isReadyHealth(r.healthStatus)).length;
  const message =
    `suspended (annotation ${Annotations.suspend}), nothing is written or pruned on the data plane; ` +
    `${unhealthy} of ${resources.length} resources not Healthy; a resume would apply: ${planSummary(resources, deletions)}. ` +
    `Resume with \`kubectl release resume ${name}\` or by removing the annotation`;
  const applied = {
    type: ConditionTypes.resourcesApplied,
    status: 'False' as const,
    reason: Reasons.suspended,
    message,
  };
  return [applied, { ...applied, type: ConditionTypes.ready }];
}

/** planSummary counts the plans of a previewing pass and names what would fail. */
function planSummary(resources: ResourceStatus[], deletions: number | undefined): string {
  const count = (action: string) => resources.filter((r) => r.plan?.action === action).length;
  const failing = resources
    .filter((r) => r.plan?.action === 'Error')
    .map(
      (r) =>
        `${describeRef({ kind: r.kind || 'object', name: r.name || r.id, namespace: r.namespace })}: ${r.plan?.message ?? ''}`,
    );
  return (
    `${count('Create')} to create, ${count('Update')} to update, ${count('Unchanged')} unchanged, ` +
    `${deletions === undefined ? 'deletions unknown (incomplete picture)' : `${deletions} to delete`}, ${count('Error')} would fail` +
    (failing.length > 0 ? `: ${listWithMore(failing, MAX_LISTED)}` : '')
  );
}

/** resolveConditions are the conditions of a Release whose data plane cannot be found or used. */
export function resolveConditions(failure: ResolveFailure): ConditionInput[] {
  const applied = { type: ConditionTypes.resourcesApplied, status: 'False' as const, ...failure };
  return [applied, { ...applied, type: ConditionTypes.ready }];
}

/**
 * awaitsSpecChange tells whether an item cannot be applied until the Release changes: it is unusable
 * as written, or the data plane refused it as invalid (like controller-runtime's TerminalError: a
 * retry sends the same object and gets the same answer). A kind the data plane does not serve is
 * not such an item: its CRD may arrive, so it is looked at again after progressingInterval.
 */
export function awaitsSpecChange(o: ItemOutcome): boolean {
  // The scope of the kind is known once discovery resolved it: without it, the kind is unknown.
  return o.state === 'invalid' && !(o.item.ok && o.namespaced === undefined);
}

/** isTransitioning tells whether any resource needs the faster progressingInterval. */
export function isTransitioning(resources: ResourceStatus[]): boolean {
  return resources.some((r) => !isReadyHealth(r.healthStatus));
}

/** statusEquals compares two statuses as JSON, ignoring key order. */
export function statusEquals(a: ReleaseStatus | undefined, b: ReleaseStatus | undefined): boolean {
  return jsonEqual(a ?? {}, b ?? {});
}

/** withConditions applies condition inputs to a status. */
export function withConditions(
  release: Release,
  base: ReleaseStatus,
  inputs: ConditionInput[],
  now: Date,
): ReleaseStatus {
  let conditions = base.conditions;
  for (const c of inputs) conditions = setCondition(conditions, c, release.metadata.generation, now);
  return { ...base, conditions };
}
