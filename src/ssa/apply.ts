/**
 * The apply library: `applyAll` server-side-applies a set of objects to one data plane and returns
 * a change set, one entry per object (created, configured, unchanged, terminating, recreating,
 * waiting, skipped, invalid, failed, each with the reason). It resolves kinds (objects of a CRD
 * carried in the same set wait for it), creates missing namespaces, applies in stages (order.ts)
 * with bounded parallelism, skips objects that are still as we left them (memory.ts), and
 * classifies failures (failure.ts). One bad object never stops the others; a data plane that does
 * not answer does: after the first unreachable answer nothing more is sent in this pass (the rest
 * are `failed`, `unreachable`, "not tried"), so a silent data plane costs one timeout per pass
 * rather than one per object.
 *
 * What to do with each object (whether an existing one may be written, what exactly is sent,
 * whether it may be recreated, which namespace to create, and the object's own policy: create
 * only, observe only, fields left out) is the caller's policy, passed in `ApplyPolicy`; nothing
 * here knows what a Release is.
 */
import type { Logger } from 'pino';
import { oneLine } from '../api/text.ts';
import type { GroupVersionKind, KubeObject } from '../api/object.ts';
import { describeRef, isRecord } from '../api/object.ts';
import { Labels } from '../api/v1alpha1/constants.ts';
import { isOurManagedBy } from '../api/v1alpha1/profile.ts';
import { isKubeApiError } from '../kube/client.ts';
import { KindNotServedError, type ResourceInfo } from '../kube/discovery.ts';
import type { DataPlaneObjects } from '../dataplane/port.ts';
import { kindKey, slimObject } from '../dataplane/port.ts';
import { classifyFailure, TERMINAL_FAILURES, type FailureKind } from './failure.ts';
import { changedFields, missingFields, owningManager, parsePointer, removeFields } from './fields.ts';
import {
  appliedToken,
  driftOf,
  needsApply,
  ownFields,
  ownFieldsHash,
  recallRecord,
  recordKey,
  type AppliedRecord,
  type ApplyMemory,
  type DriftKind,
  type DriftReport,
  type Plan,
} from './memory.ts';
import { groupByStage } from './order.ts';

/** APPLY_CONCURRENCY bounds parallel applies within one stage. */
export const APPLY_CONCURRENCY = 8;

/** ApplyItem is one object to apply, with what is known of it before asking the data plane. */
export interface ApplyItem extends GroupVersionKind {
  /** id names the object in messages (`resource "<id>"`). */
  id: string;
  name: string;
  /** namespace as written ("" when absent); checked against the kind's scope. */
  namespace: string;
  object: KubeObject;
  /** hash identifies the exact object; a change means an apply is needed. */
  hash: string;
}

/** ChangeAction is what applyAll did with one object. */
export type ChangeAction =
  /** it did not exist and was created */
  | 'created'
  /** it existed and was updated */
  | 'configured'
  /** it was already as desired: no request was sent */
  | 'unchanged'
  /** it is being deleted (by someone, or for a recreate): it is applied again once gone */
  | 'terminating'
  /** an immutable field changed, and it was deleted to be recreated */
  | 'recreating'
  /** its kind is not served yet, but a CRD in the same set defines it */
  | 'waiting'
  /** the policy refused to write it (e.g. it belongs to someone else) */
  | 'skipped'
  /** it is only observed, never written (Observe; or CreateOnly and it exists, made by someone else) */
  | 'observed'
  /** it drifted from our last apply and the drift mode is Report: nothing was sent to correct it */
  | 'drifted'
  /** dry run: `plan` says what a real apply would do; nothing was changed */
  | 'planned'
  /** the policy does not admit it at all: nothing was sent for it, not even a read */
  | 'refused'
  /** it cannot be used as written */
  | 'invalid'
  /** the data plane refused it or did not answer; may pass on retry */
  | 'failed';

/** ChangeSetEntry is the result for one object. */
export interface ChangeSetEntry<T extends ApplyItem = ApplyItem> {
  item: T;
  action: ChangeAction;
  /** namespaced is false for cluster-scoped kinds (known once the kind was resolved). */
  namespaced?: boolean;
  /** live is the object on the data plane, if it exists. */
  live?: KubeObject;
  /** message says why, for every action other than created, configured and unchanged. */
  message?: string;
  /** unreachable marks failures where the data plane did not answer. */
  unreachable?: boolean;
  /** failure is the cause of an `invalid` or `failed` entry the data plane answered (failure.ts). */
  failure?: FailureKind;
  /**
   * drift says how the object had drifted from our last apply: reported (action `drifted`), or
   * corrected by this apply (`corrected`).
   */
  drift?: DriftReport & { corrected?: boolean };
  /** plan is what a real apply would do (dry run only). */
  plan?: Plan;
  /**
   * applied is our last apply of the object as a token (memory.ts appliedToken), for the owner to
   * keep and give back as `recall` in a later process.
   */
  applied?: string;
}

/**
 * DriftMode is what applyAll does with an object that drifted from our last apply (a field we own
 * changed or removed by someone else, or the object deleted): `Correct` applies it again;
 * `Report` sends nothing to correct it and reports the drifted fields and who changed them.
 */
export type DriftMode = 'Correct' | 'Report';

/** ApplyResult is how an apply is counted in metrics. */
export type ApplyResult = 'applied' | 'unchanged' | 'error';

/**
 * Recreate is the policy's answer for an object whose immutable field changed: whether it may be
 * deleted and recreated, and what the user can do when it is not (shown in the entry's message).
 */
export interface Recreate {
  allowed: boolean;
  hint: string;
}

/**
 * Existing is what is on the data plane under an item's name: `live` is one of our objects (from
 * the watch cache, or our last apply), `foreign` one we never applied (read from the data plane,
 * as the cache holds only ours). At most one is set.
 */
export interface Existing {
  live?: KubeObject;
  foreign?: KubeObject;
}

/**
 * WriteMode is how an object is written: `Apply` (server-side apply whenever it differs from what
 * we last applied), `CreateOnly` (created when missing, never updated; observed), `Observe` (never
 * written, nor created; observed, through a watch on that one object when it is not ours).
 */
export type WriteMode = 'Apply' | 'CreateOnly' | 'Observe';

/** ObjectPolicy is the caller's policy for one object. */
export interface ObjectPolicy {
  /** write is how the object is written (default Apply). */
  write?: WriteMode;
  /**
   * ignoreFields are JSON pointers left out of what is sent, so our field manager never owns them
   * and another manager can (an HPA's replicas, a webhook's annotation).
   */
  ignoreFields?: readonly string[];
}

/** NamespaceState is what the data plane says of a namespace objects go into. */
export interface NamespaceState {
  /** created is true when this pass has just created it. */
  created: boolean;
  /** live is the Namespace as found; undefined when it does not exist (yet). */
  live?: KubeObject;
}

/** ApplyPolicy is the caller's say over each object. */
export interface ApplyPolicy<T extends ApplyItem> {
  /** object returns the object's own policy (write mode, ignored fields). */
  object?: (item: T) => ObjectPolicy | undefined;
  /**
   * admit returns why an object may not be applied here at all, checked once its kind's scope is
   * known and before any request for the object itself. An object only observed that is not
   * admitted may still be observed if `observable` lets it.
   */
  admit?: (item: T, namespaced: boolean) => string | undefined;
  /**
   * limit returns why an object is beyond a limit (of objects, of observed objects): refused
   * outright, observed or not, before any request for it.
   */
  limit?: (item: T) => string | undefined;
  /**
   * namespaceCreation returns why a missing namespace may not be created for the objects (they
   * are then refused), or undefined; asked before anything is created.
   */
  namespaceCreation?: (namespace: string) => string | undefined;
  /** namespaceAccess returns why objects may not go into a namespace as the data plane has it, or undefined. */
  namespaceAccess?: (namespace: string, state: NamespaceState) => string | undefined;
  /**
   * keep returns why an existing object that is not ours is left exactly as it is (reported as
   * observed, nothing sent), e.g. a Namespace the owner's organization already owns; undefined to go on.
   */
  keep?: (item: T, existing: Existing) => string | undefined;
  /** guard returns why an existing object must not be written, or undefined to go ahead. */
  guard?: (item: T, existing: Existing) => string | undefined;
  /**
   * observable returns why an observed object (Observe, or CreateOnly and made by someone else;
   * undefined when it does not exist) must not be reported to the owner (its status copied), or
   * undefined; `writable` tells whether the object was admitted for writing. What it says of an
   * object the owner may not write must not depend on whether the object exists.
   */
  observable?: (item: T, object: KubeObject | undefined, writable: boolean) => string | undefined;
  /**
   * prepare returns what to send and its hash (default: the item's own), e.g. to mark an object
   * that existed before we applied it.
   */
  prepare?: (
    item: T,
    info: ResourceInfo,
    existing: Existing,
  ) => { object: KubeObject; hash: string; force?: boolean };
  /** recreate says whether an object whose immutable field changed (`live`, as cached) may be deleted and recreated. */
  recreate?: (item: T, live: KubeObject) => Recreate;
  /** namespace returns the Namespace to create when one the objects live in is missing. */
  namespace?: (name: string) => KubeObject;
}

/** ApplyOptions configures one applyAll. */
export interface ApplyOptions<T extends ApplyItem> {
  /** owner identifies who applies (recorded in the memory, so cleanup can find its writes). */
  owner: { key: string; uid: string };
  memory: ApplyMemory;
  fieldManager: string;
  /** namespaceFieldManager creates missing namespaces. */
  namespaceFieldManager: string;
  policy?: ApplyPolicy<T>;
  signal: AbortSignal;
  logger: Logger;
  concurrency?: number;
  /** onResult counts applies (metrics). */
  onResult?: (kind: string, result: ApplyResult) => void;
  /** drift is what to do with drifted objects (default Correct). */
  drift?: DriftMode;
  /**
   * dryRun previews instead of applying: server-side dry-run applies (same field manager), a plan
   * per object, no namespace created, nothing written. Plans are remembered per object and live
   * version, so an unchanged preview sends nothing.
   */
  dryRun?: boolean;
  /**
   * recall returns the token of our last apply of an item (ChangeSetEntry.applied) kept by the
   * owner, for objects this process has not applied itself (after a restart): a token that
   * matches the live object and what is sent now spares the apply (memory.ts recallRecord).
   */
  recall?: (item: T) => string | undefined;
  /**
   * retryRefused sends again the objects the data plane refused as written (memory.ts refusals):
   * the owner asked for a fresh pass. Otherwise a refused object is sent again only when it, or
   * the live object, changes.
   */
  retryRefused?: boolean;
}

/**
 * OBSERVE_REFUSED says why an object the owner may not write, and that does not exist, is not
 * reported: whether it exists is not the owner's to know either.
 */
const OBSERVE_REFUSED =
  'not allowed to be observed: it is outside what the policy lets this Release write, and nothing opts it in to be observed';

/** MAX_PLAN_MESSAGE bounds the data plane's message in a plan. */
export const MAX_PLAN_MESSAGE = 1024;

interface Resolved<T> {
  item: T;
  info: ResourceInfo;
}

/** applyAll applies every item and returns one entry per item, in input order. */
export async function applyAll<T extends ApplyItem>(
  dataPlane: DataPlaneObjects,
  items: readonly T[],
  options: ApplyOptions<T>,
): Promise<ChangeSetEntry<T>[]> {
  const entries = new Map<T, ChangeSetEntry<T>>();
  const resolved: Resolved<T>[] = [];
  // CRDs in the same set: objects of their kinds wait for them instead of failing.
  const carried = new Map<string, T>();
  for (const item of items) {
    if (item.kind !== 'CustomResourceDefinition') continue;
    const spec = item.object['spec'] as { group?: string; names?: { kind?: string } } | undefined;
    if (spec?.group && spec.names?.kind) carried.set(`${spec.group}/${spec.names.kind}`, item);
  }

  // stopped turns true at the first answer that never came: everything after it is not tried.
  let stopped = false;
  const record = (entry: ChangeSetEntry<T>) => {
    entries.set(entry.item, entry);
    if (entry.unreachable) stopped = true;
  };
  // Objects only observed that the policy would not let the owner write: observed only if they opt in.
  const unwritable = new Set<T>();
  const observeOnly = (item: T) => options.policy?.object?.(item)?.write === 'Observe';
  for (const item of items) {
    if (stopped) {
      entries.set(item, notTried(item));
      continue;
    }
    try {
      const info = await dataPlane.resolveKind(item);
      const scopeError = checkScope(item, info);
      const refused = scopeError ? undefined : options.policy?.admit?.(item, info.namespaced);
      const limited = scopeError ? undefined : options.policy?.limit?.(item);
      if (scopeError)
        entries.set(item, { item, action: 'invalid', namespaced: info.namespaced, message: scopeError });
      else if (limited)
        entries.set(item, { item, action: 'refused', namespaced: info.namespaced, message: limited });
      else if (refused && !observeOnly(item))
        entries.set(item, { item, action: 'refused', namespaced: info.namespaced, message: refused });
      else {
        if (refused) unwritable.add(item);
        resolved.push({ item, info });
      }
    } catch (err) {
      const crd = carried.get(`${item.group}/${item.kind}`);
      if (err instanceof KindNotServedError && crd) {
        entries.set(item, {
          item,
          action: 'waiting',
          message: `waiting for CustomResourceDefinition ${crd.name} (resource "${crd.id}") to be Established`,
        });
      } else {
        record(failureEntry(item, err));
      }
    }
  }

  // A preview creates no namespace: each object that needs a fresh dry run checks its own.
  const namespaceErrors = stopped
    ? new Map<string, NamespaceError>()
    : await ensureNamespaces(dataPlane, resolved, options);
  if ([...namespaceErrors.values()].some((e) => e.unreachable)) stopped = true;
  const missingNamespace = namespaceCheck(dataPlane, resolved, options);
  if (!options.dryRun) options.memory.forgetPlans(options.owner.key);
  if (options.retryRefused) options.memory.forgetRefusals(options.owner.key);
  for (const stage of groupByStage(resolved, (r) => r.item.kind)) {
    const ready: Resolved<T>[] = [];
    for (const r of stage) {
      const target = namespaceOfItem(r);
      const nsError = target === undefined ? undefined : namespaceErrors.get(target);
      if (nsError?.refused && observeOnly(r.item)) {
        unwritable.add(r.item);
        ready.push(r);
      } else if (nsError?.refused) {
        const where = describeRef({ kind: r.item.kind, name: r.item.name, namespace: r.item.namespace });
        entries.set(r.item, {
          item: r.item,
          action: 'refused',
          namespaced: r.info.namespaced,
          message: `resource "${r.item.id}": ${where} is not allowed: ${nsError.message}; nothing was sent for it`,
        });
      } else if (nsError && r.info.namespaced)
        entries.set(r.item, { item: r.item, action: 'failed', namespaced: true, ...nsError });
      else ready.push(r);
    }
    await forEachLimited(ready, options.concurrency ?? APPLY_CONCURRENCY, async (r) => {
      if (stopped) entries.set(r.item, { ...notTried(r.item), namespaced: r.info.namespaced });
      else
        record(
          withPlan(await applyOne(dataPlane, r, options, missingNamespace, !unwritable.has(r.item)), options),
        );
    });
  }
  // Watches on single objects live as long as an object is observed only; the rest are stopped.
  const observed = resolved
    .filter((r) => entries.get(r.item)?.action === 'observed' && !isCached(entries.get(r.item)?.live))
    .map((r) => ({
      info: r.info,
      namespace: r.info.namespaced ? r.item.namespace : undefined,
      name: r.item.name,
    }));
  await dataPlane.useObserved(options.owner.key, observed);
  return items.map(
    (item) =>
      entries.get(item) ?? { item, action: 'failed', message: `resource "${item.id}": not processed` },
  );
}

function checkScope(item: ApplyItem, info: ResourceInfo): string | undefined {
  const ref = `${item.kind}/${item.name}`;
  if (info.namespaced && !item.namespace) {
    return `resource "${item.id}": ${ref} is namespaced but has no metadata.namespace`;
  }
  if (!info.namespaced && item.namespace) {
    return `resource "${item.id}": ${ref} is cluster-scoped but sets metadata.namespace "${item.namespace}"; remove it`;
  }
  if (!info.verbs.includes('patch')) {
    return `resource "${item.id}": the data plane does not allow patching ${info.kind}, so it cannot be applied`;
  }
  return undefined;
}

interface NamespaceError {
  message: string;
  unreachable: boolean;
  failure?: FailureKind;
  /** refused marks a namespace the policy does not let the objects go into (not a failure). */
  refused?: boolean;
}

/**
 * namespaceCheck returns, for a dry run, a check of each namespace once per applyAll: a message
 * when it does not exist (a real apply would create it first, and the data plane cannot check an
 * object in a namespace that does not exist); it throws when the data plane does not answer.
 */
function namespaceCheck<T extends ApplyItem>(
  dataPlane: DataPlaneObjects,
  items: Resolved<T>[],
  options: ApplyOptions<T>,
): (namespace: string) => Promise<string | undefined> {
  const checks = new Map<string, Promise<string | undefined>>();
  const carried = new Map(
    items
      .filter((r) => r.info.group === '' && r.info.kind === 'Namespace')
      .map((r) => [r.item.name, r.item.id]),
  );
  return (namespace) => {
    let check = checks.get(namespace);
    if (!check) {
      const template = options.policy?.namespace?.(namespace) ?? {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace },
      };
      const by = carried.has(namespace) ? `its resource "${carried.get(namespace)}"` : 'the controller';
      check = dataPlane
        .ensureNamespace(template, options.namespaceFieldManager, options.signal, { dryRun: true })
        .then((missing) =>
          missing
            ? `namespace ${namespace} does not exist yet: a real apply creates it first (${by}); the object can be checked by the data plane only once it exists`
            : undefined,
        );
      checks.set(namespace, check);
    }
    return check;
  };
}

/** withPlan gives a dry run's entries that need no request their plan: observed and terminating objects. */
function withPlan<T extends ApplyItem>(
  entry: ChangeSetEntry<T>,
  options: ApplyOptions<T>,
): ChangeSetEntry<T> {
  if (!options.dryRun || entry.plan) return entry;
  if (entry.action === 'observed') return { ...entry, plan: { action: 'Unchanged' } };
  if (entry.action === 'terminating')
    return { ...entry, plan: { action: 'Create', ...(entry.message && { message: entry.message }) } };
  return entry;
}

/**
 * namespaceOfItem is the namespace an object goes into for the namespace checks: its own namespace,
 * or a Namespace's name; undefined for other cluster-scoped objects.
 */
function namespaceOfItem<T extends ApplyItem>(r: Resolved<T>): string | undefined {
  if (r.info.group === '' && r.info.kind === 'Namespace') return r.item.name;
  return r.info.namespaced && r.item.namespace ? r.item.namespace : undefined;
}

/**
 * ensureNamespaces creates the missing namespaces of namespaced objects (a Namespace in the set is
 * applied in the first stage instead, like any other object), checks each namespace the objects go
 * into against the policy (`namespaceCreation`, `namespaceAccess`), and returns the error of each
 * one that failed or is refused.
 */
async function ensureNamespaces<T extends ApplyItem>(
  dataPlane: DataPlaneObjects,
  items: Resolved<T>[],
  options: ApplyOptions<T>,
): Promise<Map<string, NamespaceError>> {
  const errors = new Map<string, NamespaceError>();
  const template = options.policy?.namespace;
  const policy = options.policy;
  const carried = new Set(
    items.filter((r) => r.info.group === '' && r.info.kind === 'Namespace').map((r) => r.item.name),
  );
  const needed = new Set(items.map(namespaceOfItem).filter((ns): ns is string => ns !== undefined));
  if (!template && !policy?.namespaceAccess) return errors;
  await Promise.all(
    [...needed].map(async (ns) => {
      try {
        const creation = policy?.namespaceCreation?.(ns);
        let state: NamespaceState;
        if (carried.has(ns) || creation || !template || options.dryRun) {
          // Not created here: a Namespace in the set creates itself; a refused creation creates nothing.
          const live = await dataPlane.namespace(ns, options.signal);
          if (!live && creation) {
            errors.set(ns, { message: creation, unreachable: false, refused: true });
            return;
          }
          state = { created: false, ...(live && { live }) };
        } else {
          // One of our objects in the cache proves the namespace exists: nothing to create (a
          // restart, which reconciles every Release, sent one create per namespace, each a 409).
          const created =
            !(await cachesObjectIn(dataPlane, items, ns)) &&
            (await dataPlane.ensureNamespace(template(ns), options.namespaceFieldManager, options.signal));
          if (created) options.logger.info({ namespace: ns }, 'created namespace on the data plane');
          // Who owns an existing namespace matters only to a policy on access: read it only then.
          const live =
            created || !policy?.namespaceAccess ? undefined : await dataPlane.namespace(ns, options.signal);
          state = { created, ...(live && { live }) };
        }
        const refused = policy?.namespaceAccess?.(ns, state);
        if (refused) errors.set(ns, { message: refused, unreachable: false, refused: true });
      } catch (err) {
        const failure = classifyFailure(err);
        errors.set(ns, {
          message: `namespace ${ns} could not be created on the data plane: ${failure.message}`,
          unreachable: failure.kind === 'Unreachable',
          failure: failure.kind,
        });
      }
    }),
  );
  return errors;
}

/**
 * cachesObjectIn tells whether the caches hold one of `items` in namespace `ns` (then the namespace
 * exists). A cache that cannot be had proves nothing: the caller creates as without it.
 */
async function cachesObjectIn<T extends ApplyItem>(
  dataPlane: DataPlaneObjects,
  items: Resolved<T>[],
  ns: string,
): Promise<boolean> {
  for (const { item, info } of items) {
    if (!info.namespaced || item.namespace !== ns) continue;
    try {
      if ((await dataPlane.cache(info)).get(ns, item.name)) return true;
    } catch {
      return false;
    }
  }
  return false;
}

async function applyOne<T extends ApplyItem>(
  dataPlane: DataPlaneObjects,
  { item, info }: Resolved<T>,
  options: ApplyOptions<T>,
  missingNamespace: (namespace: string) => Promise<string | undefined>,
  writable: boolean,
): Promise<ChangeSetEntry<T>> {
  const { memory, policy, signal, fieldManager } = options;
  const namespace = info.namespaced ? item.namespace : undefined;
  const ref = describeRef({ kind: item.kind, name: item.name, namespace });
  const base = { item, namespaced: info.namespaced };
  const own = policy?.object?.(item);
  const write = own?.write ?? 'Apply';
  const ignored = (own?.ignoreFields ?? []).map(parsePointer);
  const badPointer = ignored.find((p): p is string => typeof p === 'string');
  if (badPointer)
    return { ...base, action: 'invalid', message: `resource "${item.id}": ${ref}: ${badPointer}` };
  const key = recordKey(dataPlane.key, info, namespace, item.name);
  // What a real apply is sent from (desired object and live version), for remembering a refusal.
  let sentFrom: string | undefined;
  try {
    const cache = await dataPlane.cache(info);
    const record = memory.get(key);
    let live = cache.get(namespace, item.name);
    // Right after our own apply the watch may not have delivered it yet: the apply response is
    // then the freshest copy (the cache may hold none, or the version before ours), and
    // re-applying would be a wasted write.
    if (record?.object && cache.isBehind(record.resourceVersion)) live = record.object;
    else if (record) record.object = undefined;

    // What is observed is reported (its status copied to the owner) only where the policy lets it.
    // An object the owner may not write reads the same whether it exists or not: its existence
    // is not the owner's to know either.
    const observedEntry = (object: KubeObject | undefined, message?: string): ChangeSetEntry<T> => {
      const refused = policy?.observable?.(item, object, writable);
      if (refused) return { ...base, action: 'refused', message: refused };
      if (!object && !writable)
        return { ...base, action: 'refused', message: `resource "${item.id}": ${ref}: ${OBSERVE_REFUSED}` };
      return { ...base, action: 'observed', ...(object && { live: object }), ...(message && { message }) };
    };
    if (write === 'Observe' && live) return observedEntry(live);
    if (write === 'Observe' || (write === 'CreateOnly' && !live && !record)) {
      // Not ours (not in the cache of our objects): a watch on that one object observes it, so
      // the steady state sends nothing and its changes wake the owner.
      const observed = await dataPlane.observe(options.owner.key, info, namespace, item.name);
      if (write === 'Observe')
        return observedEntry(
          observed,
          observed ? undefined : `${ref} does not exist; it is only observed (Observe), not created`,
        );
      if (observed) return observedEntry(observed);
    }

    // A preview computed from the same desired object and the same live version is still true;
    // so is a refusal of a real apply (it is not sent again).
    const basis = `${write}|${item.hash}|${own?.ignoreFields?.join(',') ?? ''}|${live?.metadata.uid ?? '-'}/${live?.metadata.resourceVersion ?? '-'}`;
    const planned = (plan: Plan, current?: KubeObject): ChangeSetEntry<T> => {
      memory.rememberPlan(options.owner.key, key, basis, plan);
      return { ...base, action: 'planned', plan, ...(current && { live: current }) };
    };
    if (options.dryRun) {
      const plan = memory.planOf(options.owner.key, key, basis);
      if (plan) return { ...base, action: 'planned', plan, ...(live && { live }) };
    } else {
      // The data plane refused this very object against this very live version: sending it
      // again cannot change the answer, so a tenant's typo is not retried like an outage.
      const refusal = memory.refusalOf(options.owner.key, key, basis);
      if (refusal)
        return { ...base, action: 'invalid', unreachable: false, ...refusal, ...(live && { live }) };
      sentFrom = basis;
    }

    // What is sent for the object as it exists (or not), without the fields it leaves out.
    const payload = (existing: Existing) => {
      const prepared = policy?.prepare
        ? policy.prepare(item, info, existing)
        : { object: item.object, hash: item.hash };
      const pointers = ignored.filter((p): p is string[] => typeof p !== 'string');
      return {
        object: removeFields(prepared.object, pointers),
        hash: pointers.length > 0 ? `${prepared.hash}|ignore=${own?.ignoreFields?.join(',')}` : prepared.hash,
        force: prepared.force,
      };
    };
    const where = {
      dataPlane: dataPlane.key,
      owner: options.owner.key,
      ownerUid: options.owner.uid,
      kind: kindKey(info),
    };
    // What an apply answered becomes our record and the entry.
    const appliedEntry = (
      applied: KubeObject,
      hash: string,
      existed: boolean,
      corrected?: DriftReport,
    ): ChangeSetEntry<T> => {
      const remembered: AppliedRecord = {
        ...where,
        hash,
        uid: applied.metadata.uid ?? '',
        resourceVersion: applied.metadata.resourceVersion ?? '',
        fieldsHash: ownFieldsHash(applied, fieldManager),
        // Kept only while the watch is behind it (its event may have come before this answer; then
        // nothing would let go of the copy until the owner's next reconcile: most apply answers at
        // 3,000 Releases). Slim: every manager's managedFields are not for the memory to hold.
        ...(cache.isBehind(applied.metadata.resourceVersion) && { object: slimObject(applied) }),
      };
      memory.remember(key, remembered);
      memory.forgetRefusal(options.owner.key, key);
      options.onResult?.(item.kind, 'applied');
      options.logger.debug({ object: ref, id: item.id }, 'applied');
      return {
        ...base,
        action: existed ? 'configured' : 'created',
        live: newerOf(applied, cache.get(namespace, item.name)),
        applied: appliedToken(remembered),
        ...(corrected && { drift: { ...corrected, corrected: true } }),
      };
    };

    // Neither cached nor written by us: it may still exist, made by someone else. A real apply
    // sends a create-only apply, which writes nothing when the object exists: a new object costs
    // one request. Only when it exists is it read, and then it goes the way of any existing object
    // (keep, guard, adoption), exactly as if it had been read first. A preview reads first. After
    // our first apply the cache and the memory know it, so the steady state sends nothing.
    // (CreateOnly has just looked through its watch.)
    const unseen = !live && !record && write === 'Apply';
    if (unseen && !options.dryRun && !policy?.keep?.(item, {}) && !policy?.guard?.(item, {})) {
      const { object, hash } = payload({});
      const done = memory.creatingNow(key);
      try {
        const created = await dataPlane.create(info, object, fieldManager, signal);
        if (created) return appliedEntry(created, hash, false);
      } finally {
        done();
      }
    }
    const foreign = unseen ? await dataPlane.read(info, namespace, item.name, signal) : undefined;
    const existing: Existing = live ? { live } : foreign ? { foreign } : {};

    const kept = policy?.keep?.(item, existing);
    if (kept && options.dryRun)
      return planned({ action: 'Unchanged', message: oneLine(kept, MAX_PLAN_MESSAGE) });
    if (kept) return { ...base, action: 'observed', ...(foreign && { live: foreign }), message: kept };
    const refused = policy?.guard?.(item, existing);
    if (refused && options.dryRun)
      return planned({ action: 'Error', message: oneLine(refused, MAX_PLAN_MESSAGE) });
    if (refused) return { ...base, action: 'skipped', message: refused };

    const prepared = payload(existing);
    const { object, hash } = prepared;
    const current = live ?? foreign;
    if (current?.metadata.deletionTimestamp) {
      return {
        ...base,
        action: 'terminating',
        live: current,
        message: `${ref} is being deleted; it will be recreated once gone`,
      };
    }
    if (options.dryRun) {
      if (write === 'CreateOnly' && current) return planned({ action: 'Unchanged' }, current);
      const nsMissing = namespace ? await missingNamespace(namespace) : undefined;
      if (nsMissing) return planned({ action: 'Create', message: nsMissing });
      return planned(await preview(dataPlane, info, object, current, options), current);
    }
    // A new process knows our earlier applies from the owner's token, checked against the live object.
    const recalled =
      !record && live && write === 'Apply'
        ? recallRecord(options.recall?.(item), live, hash, fieldManager, where)
        : undefined;
    if (recalled) memory.remember(key, recalled);
    const known = record ?? recalled;
    const token = known && { applied: appliedToken(known) };
    const needed = needsApply(live, known, hash, fieldManager);
    // Only objects we keep as applied drift (CreateOnly and Observe are never corrected), and only
    // when an apply is needed at all: the steady state hashes our field set once, in needsApply.
    const drift = needed && write === 'Apply' ? driftOf(live, known, hash, fieldManager) : undefined;
    if (drift && known && options.drift === 'Report') {
      const report = await reportDrift(dataPlane, drift, { info, object, live, record: known }, options);
      if (report) {
        options.onResult?.(item.kind, 'unchanged');
        return { ...base, action: 'drifted', ...(live && { live }), drift: report, ...token };
      }
    }
    // CreateOnly: it exists (ours), so it is never updated, whatever changed.
    if (!needed || (write === 'CreateOnly' && live)) {
      options.onResult?.(item.kind, 'unchanged');
      return { ...base, action: 'unchanged', live, ...token };
    }
    const existed = live !== undefined || foreign !== undefined;
    let applied: KubeObject;
    try {
      applied = await dataPlane.apply(
        info,
        object,
        fieldManager,
        signal,
        prepared.force === false ? { force: false } : undefined,
      );
    } catch (err) {
      // Adopted without force: a field another manager owns keeps its owner's value.
      if (prepared.force !== false || !isKubeApiError(err) || err.statusCode !== 409) throw err;
      options.onResult?.(item.kind, 'unchanged');
      return {
        ...base,
        action: 'skipped',
        ...(current && { live: current }),
        message: `resource "${item.id}": adopting ${ref} would change fields another manager owns, and an adoption never overwrites them (${oneLine(err.message, 400)}). Set those fields to their current values in the Release, or leave them out with annotation openchoreo.dev/ignore-fields`,
      };
    }
    return appliedEntry(applied, hash, existed, drift && correctedDrift(drift, live, applied, fieldManager));
  } catch (err) {
    options.onResult?.(item.kind, 'error');
    const failed = failureEntry(item, err, info.namespaced);
    const failure = classifyFailure(err);
    if (failure.kind === 'NamespaceMissing' && namespace) dataPlane.forgetNamespace(namespace);
    if (err instanceof KindNotServedError || (isKubeApiError(err) && err.isNotFound)) dataPlane.forgetKinds();
    const entry =
      failure.kind === 'Immutable' ? await recreate(dataPlane, item, info, failed, options) : failed;
    if (sentFrom !== undefined && entry.action === 'invalid' && TERMINAL_FAILURES.has(failure.kind)) {
      memory.rememberRefusal(options.owner.key, key, sentFrom, {
        message: entry.message ?? '',
        failure: failure.kind,
      });
    }
    return entry;
  }
}

/**
 * preview runs a server-side dry-run apply and says what a real one would do: Create, Update with
 * the changed fields (the dry-run result against the live object), Unchanged, or Error with the
 * data plane's message (one line, bounded). An unreachable data plane is thrown, not planned.
 */
async function preview<T extends ApplyItem>(
  dataPlane: DataPlaneObjects,
  info: ResourceInfo,
  object: KubeObject,
  current: KubeObject | undefined,
  options: ApplyOptions<T>,
): Promise<Plan> {
  try {
    const result = await dataPlane.apply(info, object, options.fieldManager, options.signal, {
      dryRun: true,
    });
    if (!current) return { action: 'Create' };
    const fields = changedFields(result, current);
    return fields.length > 0 ? { action: 'Update', fields } : { action: 'Unchanged' };
  } catch (err) {
    const failure = classifyFailure(err);
    if (failure.kind === 'Unreachable') throw err;
    return { action: 'Error', message: oneLine(failure.message, MAX_PLAN_MESSAGE) };
  }
}

/**
 * correctedDrift says what an apply just corrected: the fields our manager owns again (from the
 * answer) that it did not own in the cached object, or a deleted object created again. Nothing
 * when the field set changed without losing a field (the server re-rendered it).
 */
function correctedDrift(
  drift: DriftKind,
  before: KubeObject | undefined,
  applied: KubeObject,
  fieldManager: string,
): DriftReport | undefined {
  if (drift === 'deleted') return { fields: [], deleted: true };
  const fields = missingFields(ownFields(applied, fieldManager), ownFields(before, fieldManager));
  return fields.length > 0 ? { fields: fields.map((path) => ({ path })) } : undefined;
}

/**
 * reportDrift finds which fields drifted and who holds them now, without writing: a server-side
 * dry-run apply gives the field set our apply would own, the object itself every other manager's.
 * Two requests, only when the drift changes (remembered in the record by uid and our field set);
 * a drift that stays costs nothing. Undefined when no field is missing after all (a re-render):
 * then the apply goes ahead, as it changes nothing.
 */
async function reportDrift<T extends ApplyItem>(
  dataPlane: DataPlaneObjects,
  drift: DriftKind,
  target: { info: ResourceInfo; object: KubeObject; live: KubeObject | undefined; record: AppliedRecord },
  options: ApplyOptions<T>,
): Promise<DriftReport | undefined> {
  const { info, object, live, record } = target;
  if (drift === 'deleted' || !live) return { fields: [], deleted: true };
  const { fieldManager, signal } = options;
  const key = `${live.metadata.uid ?? ''}|${ownFieldsHash(live, fieldManager)}`;
  if (record.drift?.key === key) return record.drift.report;
  const preview = await dataPlane.apply(info, object, fieldManager, signal, { dryRun: true });
  const full = ownFields(preview, fieldManager);
  const missing = missingFields(full, ownFields(live, fieldManager));
  let report: DriftReport | undefined;
  if (missing.length > 0) {
    const current = await dataPlane.read(info, live.metadata.namespace, live.metadata.name ?? '', signal);
    const others = (current?.metadata.managedFields ?? [])
      .filter((e) => e.manager !== fieldManager)
      .map((e) => ({
        manager: e.manager ?? 'unknown',
        fields: isRecord(e.fieldsV1) ? e.fieldsV1 : undefined,
      }));
    report = {
      fields: missing.map((path) => {
        const manager = owningManager(path, others, full);
        return manager ? { path, manager } : { path };
      }),
    };
  }
  record.drift = { key, report };
  return report;
}

/** recreate deletes an object whose immutable field changed, when the policy allows it. */
async function recreate<T extends ApplyItem>(
  dataPlane: DataPlaneObjects,
  item: T,
  info: ResourceInfo,
  entry: ChangeSetEntry<T>,
  options: ApplyOptions<T>,
): Promise<ChangeSetEntry<T>> {
  const namespace = info.namespaced ? item.namespace : undefined;
  const live = (await dataPlane.cache(info)).get(namespace, item.name);
  const decision = (live && options.policy?.recreate?.(item, live)) || {
    allowed: false,
    hint: 'delete it yourself or change its name',
  };
  if (!decision.allowed || !live) {
    return { ...entry, live, message: `${entry.message ?? ''} (immutable field changed: ${decision.hint})` };
  }
  const ref = describeRef({ ...item, namespace });
  await dataPlane.delete(info, live, options.signal);
  options.logger.info({ object: ref, id: item.id }, 'immutable field changed; recreating');
  return {
    ...entry,
    action: 'recreating',
    live,
    message: `resource "${item.id}": immutable field changed; deleting ${ref} to recreate it`,
  };
}

/** notTried is the entry of an object skipped because the data plane stopped answering in this pass. */
function notTried<T extends ApplyItem>(item: T): ChangeSetEntry<T> {
  return {
    item,
    action: 'failed',
    unreachable: true,
    message: `resource "${item.id}": not tried: the data plane stopped answering earlier in this pass`,
  };
}

function failureEntry<T extends ApplyItem>(item: T, err: unknown, namespaced?: boolean): ChangeSetEntry<T> {
  const failure = classifyFailure(err);
  const ref = describeRef({ kind: item.kind, name: item.name, namespace: item.namespace });
  // An unknown kind cannot be applied as written either; unlike the others, its CRD may arrive.
  const invalid = TERMINAL_FAILURES.has(failure.kind) || failure.kind === 'UnknownKind';
  return {
    item,
    namespaced,
    action: invalid ? 'invalid' : 'failed',
    unreachable: failure.kind === 'Unreachable',
    failure: failure.kind,
    message: `resource "${item.id}": ${ref}: ${failure.message}`,
  };
}

/** isCached tells whether an object carries the label of our watches (so needs no watch of its own). */
function isCached(live: KubeObject | undefined): boolean {
  return isOurManagedBy(live?.metadata.labels?.[Labels.managedBy]);
}

/** newerOf picks the more recent of two copies of one object by resourceVersion. */
export function newerOf(a: KubeObject, b: KubeObject | undefined): KubeObject {
  if (!b || b.metadata.uid !== a.metadata.uid) return a;
  const ra = Number(a.metadata.resourceVersion);
  const rb = Number(b.metadata.resourceVersion);
  return Number.isFinite(ra) && Number.isFinite(rb) && rb > ra ? b : a;
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
