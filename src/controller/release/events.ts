/**
 * Event policy: which Kubernetes Events a reconcile records on its Release, as a pure function of
 * the status before and after and what was applied and pruned. A reconcile that changed the data
 * plane records one change set; a failed `ResourcesApplied` repeats as a Warning (the recorder
 * aggregates repeats into a series) unless it waits for the Release to change (then it is told once
 * per change); each change of an object's health and of readiness is told once, and each pruned or
 * given-back object is named.
 */
import { describeRef, jsonEqual } from '../../api/object.ts';
import {
  Annotations,
  ConditionTypes,
  DriftModes,
  EventReasons,
  PruneModes,
  Reasons,
} from '../../api/v1alpha1/constants.ts';
import type { ReleaseStatus } from '../../api/v1alpha1/schema.ts';
import { listWithMore } from '../../api/text.ts';
import type { EventType } from '../../runtime/events.ts';
import type { ManagedObject } from '../../dataplane/port.ts';
import { describeManaged, type RetainedObject } from '../../ssa/delete.ts';
import type { ItemOutcome } from './apply.ts';
import { resourceIdOf } from './prune.ts';
import { awaitsSpecChange, describeDrift } from './status.ts';

/** ReleaseEvent is one Event to record on a Release. */
export interface ReleaseEvent {
  type: EventType;
  reason: string;
  message: string;
}

/** retainedEvent tells that an object was kept instead of deleted, and why. */
export function retainedEvent(m: RetainedObject, why: string): ReleaseEvent {
  return {
    type: 'Normal',
    reason: EventReasons.retained,
    message: `kept ${describeManaged(m)} (${m.reason}; resource "${resourceIdOf(m.object)}" ${why}): given back, our labels and field ownership removed, the object kept`,
  };
}

/** correctedEvent tells that an apply corrected drift, naming the object and the fields. */
function correctedEvent(o: ItemOutcome): ReleaseEvent {
  const ref = describeRef({ kind: o.item.kind, name: o.item.name, namespace: o.live?.metadata.namespace });
  const what = o.drift?.deleted
    ? 'created again: it was deleted (or stripped of our labels) by someone else'
    : `applied again: ${listWithMore(o.drift?.fields.map((f) => f.path) ?? [], 5, ', ')} changed or removed by another field manager`;
  return { type: 'Normal', reason: EventReasons.driftCorrected, message: `${ref} ${what}` };
}

/** MAX_CHANGES_LISTED is how many changed objects a change-set Event names. */
export const MAX_CHANGES_LISTED = 10;

/**
 * changeSetEvent tells, once per reconcile that changed something, how many objects it created,
 * configured and deleted, and names the first of them by kind and name (never their contents):
 * `created 2, configured 1, deleted 1: Deployment/shop/web created, ...`. Undefined when nothing
 * changed.
 */
export function changeSetEvent(
  outcomes: readonly ItemOutcome[],
  pruned: readonly ManagedObject[],
): ReleaseEvent | undefined {
  const ref = (o: ItemOutcome) =>
    describeRef({
      kind: o.item.kind,
      name: o.item.name,
      namespace: o.namespaced === false ? undefined : o.item.namespace,
    });
  const created = outcomes.filter((o) => o.created).map((o) => `${ref(o)} created`);
  const configured = outcomes.filter((o) => o.configured).map((o) => `${ref(o)} configured`);
  const deleted = pruned.map((m) => `${describeManaged(m)} deleted`);
  const all = [...created, ...configured, ...deleted];
  if (all.length === 0) return undefined;
  return {
    type: 'Normal',
    reason: EventReasons.changeSet,
    message: `created ${created.length}, configured ${configured.length}, deleted ${deleted.length}: ${listWithMore(all, MAX_CHANGES_LISTED, ', ')}`,
  };
}

/**
 * crdPrunedEvent warns, once per generation of the Release, of the CustomResourceDefinitions it
 * holds without `openchoreo.dev/prune: Disabled`: deleting the Release, or removing the resource,
 * deletes the CRD and with it every custom resource of its kind in the cluster, other Releases'
 * included (Helm never deletes a chart's CRDs for that reason).
 */
export function crdPrunedEvent(
  previous: ReleaseStatus,
  status: ReleaseStatus,
  outcomes: readonly ItemOutcome[],
): ReleaseEvent | undefined {
  if (previous.observedGeneration === status.observedGeneration) return undefined;
  const crds = outcomes.filter(
    (o) =>
      o.item.ok &&
      o.item.group === 'apiextensions.k8s.io' &&
      o.item.kind === 'CustomResourceDefinition' &&
      o.item.policy?.prune !== PruneModes.disabled,
  );
  if (crds.length === 0) return undefined;
  const names = crds.map((o) => `${o.item.name} (resource "${o.item.id}")`);
  return {
    type: 'Warning',
    reason: EventReasons.crdPruned,
    message:
      `CustomResourceDefinition ${listWithMore(names, 5, ', ')} would be deleted with the Release or when removed from it, ` +
      `and with it every custom resource of its kind in the cluster, other Releases' included; ` +
      `annotate it ${Annotations.prune}: ${PruneModes.disabled} to keep it`,
  };
}

/** reconcileEvents lists the Events of one reconcile. */
export function reconcileEvents(
  previous: ReleaseStatus,
  status: ReleaseStatus,
  pruned: readonly ManagedObject[] = [],
  givenBack: readonly ManagedObject[] = [],
  retained: readonly RetainedObject[] = [],
  outcomes: readonly ItemOutcome[] = [],
): ReleaseEvent[] {
  const changes = changeSetEvent(outcomes, pruned);
  const crds = crdPrunedEvent(previous, status, outcomes);
  const events: ReleaseEvent[] = [
    ...(changes ? [changes] : []),
    ...(crds ? [crds] : []),
    ...outcomes.flatMap((o) => (o.drift?.corrected ? [correctedEvent(o)] : [])),
    ...retained.map((m) => retainedEvent(m, 'no longer in spec')),
    ...pruned.map((m) => ({
      type: 'Normal' as const,
      reason: EventReasons.pruned,
      message: `deleted ${describeManaged(m)} (resource "${resourceIdOf(m.object)}" no longer in spec as this object)`,
    })),
    ...givenBack.map((m) => ({
      type: 'Normal' as const,
      reason: EventReasons.givenBack,
      message: `gave back ${describeManaged(m)} (adopted; resource "${resourceIdOf(m.object)}" no longer in spec): our labels and field ownership removed, the object kept`,
    })),
  ];
  const applied = status.conditions?.find((c) => c.type === ConditionTypes.resourcesApplied);
  const appliedBefore = previous.conditions?.find((c) => c.type === ConditionTypes.resourcesApplied);
  // A failure that waits for the Release to change (objects refused as invalid) is told once per
  // change of the condition, like a TerminalError: repeating it would say nothing new. Others
  // repeat while they last (the recorder aggregates repeats into a series).
  const problems = outcomes.filter((o) => o.state !== 'applied');
  const terminal = problems.length > 0 && problems.every(awaitsSpecChange);
  const told =
    terminal &&
    appliedBefore?.status === applied?.status &&
    appliedBefore?.reason === applied?.reason &&
    appliedBefore?.message === applied?.message &&
    appliedBefore?.observedGeneration === applied?.observedGeneration;
  // A preview is not a failure: its Ready transition says it once.
  if (applied?.status === 'False' && applied.reason !== Reasons.previewed && !told)
    events.push({ type: 'Warning', reason: applied.reason, message: applied.message });

  const driftBefore = new Map((previous.resources ?? []).map((r) => [r.id, r.drift]));
  for (const r of status.resources ?? []) {
    if (!r.drift || jsonEqual(driftBefore.get(r.id), r.drift)) continue;
    events.push({
      type: 'Warning',
      reason: EventReasons.driftDetected,
      message: `${describeRef({ kind: r.kind, name: r.name, namespace: r.namespace })} drifted: ${describeDrift(r.drift)}; not corrected (${Annotations.drift}: ${DriftModes.report})`,
    });
  }

  const before = new Map((previous.resources ?? []).map((r) => [r.id, r.healthStatus]));
  for (const r of status.resources ?? []) {
    const was = before.get(r.id);
    if (was === undefined || was === r.healthStatus) continue;
    const ref = describeRef({ kind: r.kind, name: r.name, namespace: r.namespace });
    events.push({
      type: r.healthStatus === 'Degraded' ? 'Warning' : 'Normal',
      reason: EventReasons.healthChanged,
      message: `${ref}: ${was} -> ${r.healthStatus}${r.message ? ` (${r.message})` : ''}`,
    });
  }

  const readyBefore = previous.conditions?.find((c) => c.type === ConditionTypes.ready);
  const readyNow = status.conditions?.find((c) => c.type === ConditionTypes.ready);
  if (readyNow && (readyBefore?.status !== readyNow.status || readyBefore.reason !== readyNow.reason)) {
    events.push({
      type:
        readyNow.status === 'True' ||
        readyNow.reason === Reasons.progressing ||
        readyNow.reason === Reasons.previewed
          ? 'Normal'
          : 'Warning',
      reason: readyNow.reason,
      message: readyNow.message,
    });
  }
  // Ready repeats ResourcesApplied's reason and message when the apply failed: one Event says it.
  const seen = new Set<string>();
  return events.filter((e) => {
    const key = JSON.stringify([e.type, e.reason, e.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
