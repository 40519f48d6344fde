/**
 * Apply step: resolves each desired object's kind on the data plane, checks ownership, and
 * server-side-applies it in stages (ssa/order.ts), skipping objects that are already as desired.
 * Every item gets an outcome; one bad item never stops the others.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/object.ts';
import { describeRef } from '../../api/object.ts';
import { Annotations, FIELD_MANAGER, Labels } from '../../api/v1alpha1/constants.ts';
import type { Release } from '../../api/v1alpha1/schema.ts';
import { isKubeApiError } from '../../kube/client.ts';
import { KindNotServedError, type ResourceInfo } from '../../kube/discovery.ts';
import type { DataPlaneConnection } from '../../dataplane/pool.ts';
import { kindKey, slimObject } from '../../dataplane/watches.ts';
import { applyObject, classifyFailure, deleteObject } from '../../ssa/apply.ts';
import { groupByStage } from '../../ssa/order.ts';
import type { DesiredItem, DesiredObject } from './desired.ts';
import { releaseKeyOfObject } from './desired.ts';
import { ensureNamespaces } from './namespaces.ts';
import type { ItemOutcome } from './status.ts';

/** APPLY_CONCURRENCY bounds parallel applies within one stage of one Release. */
export const APPLY_CONCURRENCY = 8;

/** ADOPTED_ANNOTATION marks a Namespace that existed before a Release applied it; it is never deleted. */
export const ADOPTED_ANNOTATION = 'openchoreo.dev/adopted';

/** RECREATABLE_KINDS may be deleted and recreated when an immutable field changes and the object asks for it. */
export const RECREATABLE_KINDS = new Set([
  'Job',
  'Service',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ConfigMap',
  'Secret',
  'PodDisruptionBudget',
  'RoleBinding',
  'ClusterRoleBinding',
  'Pod',
]);

/** AppliedRecord remembers our last apply of one object, to tell whether it needs another. */
export interface AppliedRecord {
  hash: string;
  uid: string;
  resourceVersion: string;
  fieldsHash: string;
  /** release is `namespace/name` of the Release that applied it. */
  release: string;
  /** releaseUid is the uid of that Release (cleanup waits until the watch has seen its writes). */
  releaseUid: string;
  /** kind is the kindKey of the object's watch. */
  kind: string;
  /** object is the apply response, kept only until the watch cache has caught up with it. */
  object?: KubeObject;
}

/** AppliedRecords is the controller's memory of applies, keyed by data plane, kind and object. */
export type AppliedRecords = Map<string, AppliedRecord>;

/** ApplyContext is what the apply step needs. */
export interface ApplyContext {
  release: Release;
  conn: DataPlaneConnection;
  records: AppliedRecords;
  /** releaseExists tells whether a Release with this uid still exists (ownership conflicts). */
  releaseExists: (namespace: string, name: string, uid: string) => boolean;
  logger: Logger;
  signal: AbortSignal;
  /** onApplied counts applies (metrics). */
  onApplied?: (kind: string, result: 'applied' | 'unchanged' | 'error') => void;
}

/** ResolvedItem is a desired object whose kind the data plane serves. */
export interface ResolvedItem {
  item: DesiredObject;
  info: ResourceInfo;
}

/** recordKey identifies an applied object in AppliedRecords. */
export function recordKey(
  dataPlane: string,
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
): string {
  return `${dataPlane}|${kindKey(info)}|${namespace ?? ''}/${name}`;
}

/**
 * ownFieldsHash hashes our manager's field set, which changes when someone else takes or removes
 * our fields. The API server renders fieldsV1 in a canonical order, so plain JSON is stable.
 */
export function ownFieldsHash(obj: KubeObject): string {
  const entry = obj.metadata.managedFields?.find(
    (m) => m.manager === FIELD_MANAGER && m.operation === 'Apply' && !m.subresource,
  );
  return createHash('sha256')
    .update(JSON.stringify(entry?.fieldsV1 ?? null))
    .digest('base64url');
}

/**
 * unseenWrites lists our applies for a Release that its data plane's watches have not delivered
 * yet: until they have, an empty cache does not prove that nothing is left.
 */
export function unseenWrites(
  records: AppliedRecords,
  conn: DataPlaneConnection,
  releaseUid: string,
): AppliedRecord[] {
  const informers = new Map(conn.watches.watched().map((w) => [kindKey(w.info), w.informer]));
  return [...records.values()].filter(
    (r) => r.releaseUid === releaseUid && informers.get(r.kind)?.isBehind(r.resourceVersion) === true,
  );
}

/** forgetRecords drops the records of a Release that no longer exists. */
export function forgetRecords(records: AppliedRecords, release: string): void {
  for (const [key, r] of records) if (r.release === release) records.delete(key);
}

/** needsApply decides whether an object must be applied again. */
export function needsApply(
  live: KubeObject | undefined,
  record: AppliedRecord | undefined,
  hash: string,
): boolean {
  if (!live || !record) return true;
  if (record.hash !== hash || record.uid !== live.metadata.uid) return true;
  if (record.resourceVersion === live.metadata.resourceVersion) return false;
  return record.fieldsHash !== ownFieldsHash(live);
}

/** applyItems runs the apply step over every spec item and returns one outcome per item, in spec order. */
export async function applyItems(ctx: ApplyContext, items: DesiredItem[]): Promise<ItemOutcome[]> {
  const outcomes = new Map<number, ItemOutcome>();
  const resolved: ResolvedItem[] = [];
  // CRDs carried by this Release: objects of their kinds wait for them instead of failing.
  const carriedKinds = new Map<string, DesiredObject>();
  for (const item of items) {
    if (item.ok && item.kind === 'CustomResourceDefinition') {
      const spec = item.object['spec'] as { group?: string; names?: { kind?: string } } | undefined;
      if (spec?.group && spec.names?.kind) carriedKinds.set(`${spec.group}/${spec.names.kind}`, item);
    }
  }

  for (const item of items) {
    if (!item.ok) {
      outcomes.set(item.index, { item, state: 'invalid', message: item.message });
      continue;
    }
    try {
      const info = await ctx.conn.discovery.resolve(item);
      const scopeError = checkScope(item, info);
      if (scopeError)
        outcomes.set(item.index, {
          item,
          state: 'invalid',
          namespaced: info.namespaced,
          message: scopeError,
        });
      else resolved.push({ item, info });
    } catch (err) {
      const crd = carriedKinds.get(`${item.group}/${item.kind}`);
      if (err instanceof KindNotServedError && crd) {
        outcomes.set(item.index, {
          item,
          state: 'waiting',
          message: `waiting for CustomResourceDefinition ${crd.name} (resource "${crd.id}") to be Established`,
        });
      } else {
        outcomes.set(item.index, failureOutcome(item, err));
      }
    }
  }

  // Register the kinds before waiting on their watches, so no other Release stops them meanwhile.
  const namespaceErrors = await ensureNamespaces(ctx, resolved);
  for (const stage of groupByStage(resolved, (r) => r.item.kind)) {
    const ready: ResolvedItem[] = [];
    for (const r of stage) {
      const nsError = r.info.namespaced ? namespaceErrors.get(r.item.namespace) : undefined;
      if (nsError)
        outcomes.set(r.item.index, { item: r.item, state: 'failed', namespaced: true, ...nsError });
      else ready.push(r);
    }
    await forEachLimited(ready, APPLY_CONCURRENCY, async (r) => {
      outcomes.set(r.item.index, await applyOne(ctx, r));
    });
  }
  return items.map(
    (item) =>
      outcomes.get(item.index) ?? { item, state: 'failed', message: `resource "${item.id}": not processed` },
  );
}

function checkScope(item: DesiredObject, info: ResourceInfo): string | undefined {
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

async function applyOne(ctx: ApplyContext, { item, info }: ResolvedItem): Promise<ItemOutcome> {
  const { conn, release } = ctx;
  const namespace = info.namespaced ? item.namespace : undefined;
  const ref = describeRef({ kind: item.kind, name: item.name, namespace });
  const base = { item, namespaced: info.namespaced };
  try {
    const informer = await conn.watches.informerFor(info);
    const key = recordKey(conn.key, info, namespace, item.name);
    const record = ctx.records.get(key);
    let live = informer.get(namespace, item.name);
    // Right after our own apply the watch may not have delivered the object yet: the apply
    // response is then the freshest copy, and re-applying would be a wasted write.
    if (record?.object && informer.isBehind(record.resourceVersion)) live ??= record.object;
    else if (record) record.object = undefined;

    const owner = live ? releaseKeyOfObject(live) : undefined;
    if (
      owner &&
      owner.uid !== release.metadata.uid &&
      ctx.releaseExists(owner.namespace, owner.name, owner.uid)
    ) {
      return {
        ...base,
        state: 'conflict',
        message: `resource "${item.id}": ${ref} belongs to Release ${owner.namespace}/${owner.name}; not taken over`,
      };
    }

    const object = await withAdoptionMark(ctx, item, info, live);
    const hash = object === item.object ? item.hash : `${item.hash}+adopted`;
    if (live && live.metadata.deletionTimestamp) {
      return {
        ...base,
        state: 'applied',
        live,
        message: `${ref} is being deleted; it will be recreated once gone`,
      };
    }
    if (!needsApply(live, record, hash)) {
      ctx.onApplied?.(item.kind, 'unchanged');
      return { ...base, state: 'applied', live };
    }
    live = await applyObject(conn.client, info, object, FIELD_MANAGER, ctx.signal);
    ctx.records.set(key, {
      hash,
      uid: live.metadata.uid ?? '',
      resourceVersion: live.metadata.resourceVersion ?? '',
      fieldsHash: ownFieldsHash(live),
      release: `${release.metadata.namespace}/${release.metadata.name}`,
      releaseUid: release.metadata.uid ?? '',
      kind: kindKey(info),
      // Slim: the apply response carries every manager's managedFields, which the records need not hold.
      object: slimObject(live),
    });
    ctx.onApplied?.(item.kind, 'applied');
    ctx.logger.debug({ object: ref, id: item.id }, 'applied');
    return { ...base, state: 'applied', live: newerOf(live, informer.get(namespace, item.name)) };
  } catch (err) {
    ctx.onApplied?.(item.kind, 'error');
    const outcome = failureOutcome(item, err, info.namespaced);
    if (outcome.state === 'invalid' && classifyFailure(err).kind === 'Immutable') {
      return recreateIfAsked(ctx, item, info, outcome);
    }
    if (classifyFailure(err).kind === 'NamespaceMissing' && namespace) conn.knownNamespaces.delete(namespace);
    if (err instanceof KindNotServedError || (isKubeApiError(err) && err.isNotFound))
      conn.discovery.invalidate();
    return outcome;
  }
}

/**
 * withAdoptionMark marks a Namespace that existed before this Release applied it, so that neither
 * prune nor cleanup ever deletes a namespace (and everything in it) that the Release did not create.
 */
async function withAdoptionMark(
  ctx: ApplyContext,
  item: DesiredObject,
  info: ResourceInfo,
  live: KubeObject | undefined,
): Promise<KubeObject> {
  if (info.group !== '' || info.kind !== 'Namespace') return item.object;
  let adopted = live?.metadata.annotations?.[ADOPTED_ANNOTATION] === 'true';
  if (!live) {
    try {
      const existing = await ctx.conn.client.request<KubeObject>({
        method: 'GET',
        path: `/api/v1/namespaces/${encodeURIComponent(item.name)}`,
        signal: ctx.signal,
      });
      adopted = existing.metadata.labels?.[Labels.releaseUid] !== ctx.release.metadata.uid;
    } catch (err) {
      if (!(isKubeApiError(err) && err.isNotFound)) throw err;
    }
  }
  if (!adopted) return item.object;
  const annotations = { ...(item.object.metadata.annotations ?? {}), [ADOPTED_ANNOTATION]: 'true' };
  return { ...item.object, metadata: { ...item.object.metadata, annotations } };
}

async function recreateIfAsked(
  ctx: ApplyContext,
  item: DesiredObject,
  info: ResourceInfo,
  outcome: ItemOutcome,
): Promise<ItemOutcome> {
  const asked = item.object.metadata.annotations?.[Annotations.recreateOnImmutable] === 'true';
  const namespace = info.namespaced ? item.namespace : undefined;
  const live = (await ctx.conn.watches.informerFor(info)).get(namespace, item.name);
  const hint = RECREATABLE_KINDS.has(item.kind)
    ? `set annotation ${Annotations.recreateOnImmutable}: "true" on the object to let the controller delete and recreate it, or change its name`
    : `${item.kind} is never recreated automatically (it could lose data); delete it yourself or change its name`;
  if (!asked || !RECREATABLE_KINDS.has(item.kind) || !live) {
    return { ...outcome, live, message: `${outcome.message ?? ''} (immutable field changed: ${hint})` };
  }
  await deleteObject(ctx.conn.client, info, live, ctx.signal);
  ctx.logger.info(
    { object: describeRef({ ...item, namespace }), id: item.id },
    'immutable field changed; recreating',
  );
  return {
    ...outcome,
    state: 'recreating',
    live,
    message: `resource "${item.id}": immutable field changed; deleting ${describeRef({ ...item, namespace })} to recreate it`,
  };
}

function failureOutcome(item: DesiredObject, err: unknown, namespaced?: boolean): ItemOutcome {
  const failure = classifyFailure(err);
  const ref = describeRef({ kind: item.kind, name: item.name, namespace: item.namespace });
  const invalid = failure.kind === 'Invalid' || failure.kind === 'Immutable';
  return {
    item,
    namespaced,
    state: invalid ? 'invalid' : 'failed',
    unreachable: failure.kind === 'Unreachable',
    message: `resource "${item.id}": ${ref}: ${failure.message}`,
  };
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
