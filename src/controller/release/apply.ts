/**
 * Apply step: applies a Release's valid spec items to its data plane with the apply library
 * (ssa/apply.ts) under the Release's policy (policy.ts), and turns the change set into one outcome
 * per spec item, in spec order. Items that are invalid as written get their outcome here without
 * reaching the data plane.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/object.ts';
import { profileOf } from '../../api/v1alpha1/profile.ts';
import type { DataPlaneResourcePolicy, Release, Removal } from '../../api/v1alpha1/schema.ts';
import type { DataPlaneObjects } from '../../dataplane/port.ts';
import { oneLine } from '../../api/text.ts';
import { applyAll, MAX_PLAN_MESSAGE, type ApplyResult, type ChangeAction } from '../../ssa/apply.ts';
import type { FailureKind } from '../../ssa/failure.ts';
import { recordKey, type ApplyMemory, type DriftReport, type Plan } from '../../ssa/memory.ts';
import type { DesiredItem, DesiredObject } from './desired.ts';
import { Inventory } from './inventory.ts';
import {
  driftMode,
  reconcileRequested,
  writesNothing,
  releasePolicy,
  type ObserveLimits,
  type Adoptions,
  type ReleaseExists,
  type TenancyContext,
} from './policy.ts';

/** ItemState is what happened to one spec item in this reconcile. */
export type ItemState =
  /** applied now, or already as desired (or being deleted by someone, to be applied once gone) */
  | 'applied'
  /** the object cannot be used as written */
  | 'invalid'
  /** the DataPlane's resource policy does not allow the object: nothing was sent for it */
  | 'notAllowed'
  /** another live Release owns the object, or someone else made it and it was not asked to be adopted */
  | 'conflict'
  /** waiting for a CRD of the same Release to be Established */
  | 'waiting'
  /** an immutable field changed and the object is being recreated */
  | 'recreating'
  /** the data plane refused or did not answer */
  | 'failed';

/** ItemOutcome is the result of the apply step for one spec item. */
export interface ItemOutcome {
  item: DesiredItem;
  state: ItemState;
  /** namespaced is false for cluster-scoped kinds (known once discovery resolved the kind). */
  namespaced?: boolean;
  /** live is the object on the data plane, if it exists. */
  live?: KubeObject;
  /** message explains a state other than applied. */
  message?: string;
  /** unreachable marks failures where the data plane did not answer. */
  unreachable?: boolean;
  /** failure is the cause of an item the data plane refused (ssa/failure.ts), for its healthReason. */
  failure?: FailureKind;
  /** drift says how the object drifted: reported (drift mode Report) or corrected by this apply. */
  drift?: DriftReport & { corrected?: boolean };
  /** plan is what a real apply would do (apply mode DryRun). */
  plan?: Plan;
  /** applied is the token of our last apply of the object (status.resources[].applied). */
  applied?: string;
  /** created tells that this pass created the object (nothing existed under its name). */
  created?: boolean;
  /** configured tells that this pass changed an existing object (an apply that was needed). */
  configured?: boolean;
  /** adopted is the object this pass took over from someone else (its uid), and how it is to leave. */
  adopted?: { uid: string; removal: Removal };
}

/** ApplyContext is what the apply step needs. */
export interface ApplyContext {
  release: Release;
  dataPlane: DataPlaneObjects;
  memory: ApplyMemory;
  releaseExists: ReleaseExists;
  /** resourcePolicy is the DataPlane's spec.resourcePolicy; dataPlaneName names it in messages. */
  resourcePolicy?: DataPlaneResourcePolicy;
  logger: Logger;
  signal: AbortSignal;
  /** onResult counts applies (metrics). */
  onResult?: (kind: string, result: ApplyResult) => void;
  /** tenancy is what the operator lets the Release's organization do there; single-tenant without. */
  tenancy?: TenancyContext;
  /** observeLimits are the operator's caps on observed objects, whatever the tenancy. */
  observeLimits?: ObserveLimits;
  /** previewed is the Release this preview previews (policy.ts previewTarget): planned as its objects' owner. */
  previewed?: Release;
  /**
   * dryRun previews whatever the Release's own annotations say (`kubectl release diff` plans a
   * Release that applies); a Release that writes nothing (policy.ts writesNothing) previews anyway.
   */
  dryRun?: boolean;
}

const STATE_OF: Record<ChangeAction, ItemState> = {
  created: 'applied',
  configured: 'applied',
  unchanged: 'applied',
  terminating: 'applied',
  recreating: 'recreating',
  waiting: 'waiting',
  observed: 'applied',
  drifted: 'applied',
  planned: 'applied',
  skipped: 'conflict',
  refused: 'notAllowed',
  invalid: 'invalid',
  failed: 'failed',
};

/** applyRelease runs the apply step over every spec item. */
export async function applyRelease(ctx: ApplyContext, items: DesiredItem[]): Promise<ItemOutcome[]> {
  const valid = items.filter((i): i is DesiredObject => i.ok);
  const previous = new Map((ctx.release.status?.resources ?? []).map((r) => [r.id, r.applied]));
  const adoptions: Adoptions = new Map();
  const owner = `${ctx.release.metadata.namespace}/${ctx.release.metadata.name}`;
  const dryRun = ctx.dryRun === true || writesNothing(ctx.release);
  // Planning as another Release is for dry runs only: an apply never judges that Release's objects its own.
  const previewed = dryRun ? ctx.previewed : undefined;
  const entries = await applyAll(ctx.dataPlane, valid, {
    owner: { key: owner, uid: ctx.release.metadata.uid ?? '' },
    memory: ctx.memory,
    fieldManager: profileOf(ctx.release).controllerName,
    namespaceFieldManager: profileOf(ctx.release).namespaceFieldManager,
    policy: releasePolicy(
      ctx.release,
      ctx.releaseExists,
      ctx.resourcePolicy,
      ctx.dataPlane.key,
      // A preview of another Release plans with that Release's proofs; its own status never records them.
      Inventory.of((previewed ?? ctx.release).status),
      adoptions,
      ctx.tenancy,
      valid,
      ctx.observeLimits,
      previewed,
    ),
    signal: ctx.signal,
    logger: ctx.logger,
    onResult: ctx.onResult,
    drift: driftMode(ctx.release),
    dryRun,
    recall: (item) => previous.get(item.id),
    retryRefused: reconcileRequested(ctx.release),
  });
  // Plans and refusals of objects no longer in the spec are dropped: only the current items' are kept.
  ctx.memory.keepCurrent(
    owner,
    entries
      .filter((e) => e.namespaced !== undefined)
      .map((e) =>
        recordKey(ctx.dataPlane.key, e.item, e.namespaced ? e.item.namespace : undefined, e.item.name),
      ),
  );
  const byItem = new Map(entries.map((e) => [e.item, e]));
  const outcomes = items.map((item): ItemOutcome => {
    if (!item.ok) return { item, state: 'invalid', message: item.message };
    const e = byItem.get(item);
    if (!e) return { item, state: 'failed', message: `resource "${item.id}": not processed` };
    // A plan that would fail keeps the id from being counted as applied (its old object is not a planned deletion).
    const state = e.plan?.action === 'Error' ? 'invalid' : STATE_OF[e.action];
    const outcome: ItemOutcome = { item, state };
    if (e.namespaced !== undefined) outcome.namespaced = e.namespaced;
    if (e.live) outcome.live = e.live;
    if (e.message) outcome.message = e.message;
    if (e.unreachable) outcome.unreachable = e.unreachable;
    if (e.failure) outcome.failure = e.failure;
    if (e.drift) outcome.drift = e.drift;
    if (e.plan) outcome.plan = e.plan;
    if (e.applied) outcome.applied = e.applied;
    if (e.action === 'created') outcome.created = true;
    if (e.action === 'configured') outcome.configured = true;
    const adopted = adoptions.get(item.id);
    if (adopted && (e.action === 'configured' || e.action === 'created')) outcome.adopted = adopted;
    // A refusal of the policy names the id already; the data plane's words do not.
    const named = `resource "${item.id}": `;
    if (e.plan?.message && !e.message)
      outcome.message = e.plan.message.startsWith(named) ? e.plan.message : `${named}${e.plan.message}`;
    return outcome;
  });
  return dryRun ? outcomes.map(withPlan) : outcomes;
}

/**
 * withPlan gives a previewed outcome that reached no dry run its plan: an object that waits for a
 * CRD of the same Release would be created after it; anything that cannot be applied would fail.
 */
function withPlan(o: ItemOutcome): ItemOutcome {
  if (o.plan || o.unreachable) return o;
  const message = oneLine(o.message ?? '', MAX_PLAN_MESSAGE);
  if (o.state === 'waiting') return { ...o, plan: { action: 'Create', message } };
  if (o.state === 'applied') return o;
  return { ...o, plan: { action: 'Error', message } };
}
