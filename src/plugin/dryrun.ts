/**
 * `kubectl release diff`, its I/O: resolve the Release's data plane with the user's own rights
 * (Release namespace → Environment → DataPlane → inline credentials or kubeconfig Secret, through
 * the controller's credential checks), then for every object of the file what the controller
 * would do (its resource policy, ownership guard and adoption mark, dataplane/ and
 * controller/release/policy.ts), a server-side dry-run apply as the controller's field manager,
 * and the objects of the live Release that the file no longer has (prune). The report is
 * rendered by diffview.ts.
 */
import type { KubeObject } from '../api/object.ts';
import { formatApiVersion, isRecord } from '../api/object.ts';
import { truncate } from '../api/text.ts';
import {
  API_VERSION,
  Annotations,
  FIELD_MANAGER,
  Labels,
  ReleaseApplyModes,
} from '../api/v1alpha1/constants.ts';
import type { DataPlane, DataPlaneResourcePolicy, Environment, Release } from '../api/v1alpha1/schema.ts';
import { desiredItems, releaseKeyOfObject, type DesiredObject } from '../controller/release/desired.ts';
import { Inventory } from '../controller/release/inventory.ts';
import { releasePolicy } from '../controller/release/policy.ts';
import { declaredRef, DEFAULT_PLANE, PlaneKinds } from '../controller/release/resolve.ts';
import {
  accessFromInline,
  accessFromSecret,
  CredentialsError,
  type SecretLike,
} from '../dataplane/credentials.ts';
import {
  DEFAULT_ENDPOINT_POLICY,
  describeRefusal,
  EndpointPolicy,
  serverHost,
} from '../dataplane/endpoint.ts';
import { isKubeApiError, type KubeClient } from '../kube/client.ts';
import { classifyFailure } from '../ssa/failure.ts';
import {
  collectionPath,
  Discovery,
  KindNotServedError,
  objectPath,
  type ResourceInfo,
} from '../kube/discovery.ts';
import { clientFor } from '../kube/kubeconfig.ts';
import { parsePointer, removeFields } from '../ssa/fields.ts';
import { classify, maskSecrets, type DiffEntry } from './diffview.ts';

/** NoAccessError says the user may not read what `diff` needs; its message suggests the DryRun annotation. */
export class NoAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoAccessError';
  }
}

/** PlanError says the diff cannot be made (missing Environment, bad credentials, ...). */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

/**
 * previewAdvice tells how to ask the controller for a preview of Release `name` instead: a Release
 * under another name in apply mode DryRun that names it with preview-of, so the live Release's
 * objects are planned as its own (no Conflict) and nothing of it is touched.
 */
export function previewAdvice(name: string): string {
  const preview = `${name}-preview`;
  return (
    `Ask the controller for a preview instead: apply the Release as ${preview} with the annotations ` +
    `${Annotations.applyMode}: ${ReleaseApplyModes.dryRun} and ${Annotations.previewOf}: ${name}, ` +
    `and read the plan with \`kubectl release tree ${preview}\``
  );
}

/** MAX_ERROR_TEXT bounds a data plane's error message in the report. */
const MAX_ERROR_TEXT = 600;
const REQUEST_TIMEOUT_MS = 30_000;

/** ENDPOINTS is the controller's default endpoint policy (dataplane/endpoint.ts), which `diff` applies too. */
const ENDPOINTS = new EndpointPolicy(DEFAULT_ENDPOINT_POLICY);

const releasesPath = (ns: string) => `/apis/${API_VERSION}/namespaces/${encodeURIComponent(ns)}`;

/** noAccess is the error for a Forbidden read of something `diff` needs. */
function noAccess(what: string, release: string): NoAccessError {
  return new NoAccessError(
    `you may not read ${what}, which \`kubectl release diff\` needs to dry-run against the data plane ` +
      `(only users who can read the DataPlane's credentials can). ${previewAdvice(release)}.`,
  );
}

/** get reads one control-plane object; undefined when it does not exist, NoAccessError when forbidden. */
async function get<T>(cp: KubeClient, path: string, what: string, release: string): Promise<T | undefined> {
  try {
    return await cp.request<T>({ method: 'GET', path });
  } catch (err) {
    if (isKubeApiError(err) && err.isNotFound) return undefined;
    if (isKubeApiError(err) && (err.statusCode === 403 || err.statusCode === 401))
      throw noAccess(what, release);
    throw err;
  }
}

/** DataPlaneTarget is the user's connection to a Release's data plane. */
export interface DataPlaneTarget {
  dataPlane: DataPlane;
  client: KubeClient;
}

/** connectDataPlane resolves a Release's data plane as the controller does (resolve.ts), with the user's rights. */
export async function connectDataPlane(cp: KubeClient, release: Release): Promise<DataPlaneTarget> {
  const ns = release.metadata.namespace ?? '';
  const key = `${ns}/${release.metadata.name}`;
  const envName = release.spec.environmentName;
  const env = await get<Environment>(
    cp,
    `${releasesPath(ns)}/environments/${encodeURIComponent(envName)}`,
    `Environment ${ns}/${envName}`,
    release.metadata.name,
  );
  if (!env)
    throw new PlanError(`Environment ${ns}/${envName} (spec.environmentName of Release ${key}) not found`);
  const declared = declaredRef(env);
  if (declared && ('invalid' in declared || declared.kind !== PlaneKinds.dataPlane)) {
    throw new PlanError(
      'invalid' in declared
        ? declared.invalid
        : `Environment ${ns}/${envName} uses ClusterDataPlane ${declared.name}; the plugin previews only through DataPlanes of the namespace`,
    );
  }
  const dpName = declared?.name ?? DEFAULT_PLANE;
  const dataPlane = await get<DataPlane>(
    cp,
    `${releasesPath(ns)}/dataplanes/${encodeURIComponent(dpName)}`,
    `DataPlane ${ns}/${dpName}`,
    release.metadata.name,
  );
  if (!dataPlane)
    throw new PlanError(`DataPlane ${ns}/${dpName} (spec.dataPlaneRef of Environment ${envName}) not found`);
  // Only the controller reaches a tunnelled data plane (through the operator's proxy): its server
  // is an address inside the data plane's own network, which must not be dialled from here.
  if (dataPlane.spec.kubernetesCluster?.tunnel) {
    throw new PlanError(
      `DataPlane ${ns}/${dpName} is reached through a tunnel (spec.kubernetesCluster.tunnel), which only the controller can use, so \`kubectl release diff\` cannot dry-run against it. ${previewAdvice(release.metadata.name ?? '')}`,
    );
  }
  const ref = dataPlane.spec.kubernetesCluster?.secretRef;
  try {
    const access = ref
      ? await accessFromSecret(
          dataPlane,
          await get<SecretLike>(
            cp,
            `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(ref.name)}`,
            `Secret ${ns}/${ref.name} (the kubeconfig of DataPlane ${ns}/${dpName})`,
            release.metadata.name,
          ),
        )
      : accessFromInline(dataPlane);
    // The server is a tenant's choice, dialled from the user's machine: the controller's default
    // endpoint policy applies (no metadata or link-local addresses, https only), at every connect too.
    const refused = await ENDPOINTS.checkServer(access.server);
    if (refused) throw new PlanError(describeRefusal(`DataPlane ${ns}/${dpName}`, access.server, refused));
    const client = clientFor(access, {
      name: `DataPlane ${ns}/${dpName}`,
      timeoutMs: REQUEST_TIMEOUT_MS,
      maxRetries: 1,
      lookup: ENDPOINTS.lookup(serverHost(access.server)),
    });
    return { dataPlane, client };
  } catch (err) {
    if (err instanceof CredentialsError) throw new PlanError(err.message);
    throw err;
  }
}

/** ReleasePlan is the report of one Release of the file. */
export interface ReleasePlan {
  /** release is `namespace/name`. */
  release: string;
  /** exists tells whether the Release exists on the control plane (its uid finds what to prune). */
  exists: boolean;
  entries: DiffEntry[];
}

/**
 * planRelease dry-runs one Release of the file: every object (as the controller would send it)
 * and the objects of the live Release that the file no longer has.
 */
export async function planRelease(cp: KubeClient, fromFile: Release): Promise<ReleasePlan> {
  const ns = fromFile.metadata.namespace ?? '';
  const name = fromFile.metadata.name;
  const live = await get<Release>(
    cp,
    `${releasesPath(ns)}/releases/${encodeURIComponent(name)}`,
    `Release ${ns}/${name}`,
    name,
  );
  // The tracking labels carry the live Release's uid; a Release not created yet has none.
  const release: Release = { ...fromFile, metadata: { ...fromFile.metadata, uid: live?.metadata.uid } };
  const target = await connectDataPlane(cp, release);
  try {
    const entries = (await planObjects(cp, target, release, live)).map(maskSecrets);
    return { release: `${ns}/${name}`, exists: live !== undefined, entries };
  } finally {
    await target.client.close();
  }
}

async function planObjects(
  cp: KubeClient,
  target: DataPlaneTarget,
  release: Release,
  live: Release | undefined,
): Promise<DiffEntry[]> {
  const dp = target.client;
  const discovery = new Discovery(dp);
  const dataPlaneKey = `${target.dataPlane.metadata.namespace ?? ''}/${target.dataPlane.metadata.name}`;
  const uid = release.metadata.uid;
  const owners = new Map<string, boolean>();
  const ownerExists = async (owner: { namespace: string; name: string; uid: string }): Promise<boolean> => {
    const k = `${owner.namespace}/${owner.name}/${owner.uid}`;
    if (!owners.has(k)) {
      let exists = true;
      try {
        const other = await cp.request<Release>({
          method: 'GET',
          path: `${releasesPath(owner.namespace)}/releases/${encodeURIComponent(owner.name)}`,
        });
        exists = other.metadata.uid === owner.uid;
      } catch (err) {
        // Unreadable (another organization's namespace): assume it lives, as the cautious answer.
        if (isKubeApiError(err) && err.isNotFound) exists = false;
      }
      owners.set(k, exists);
    }
    return owners.get(k) ?? true;
  };

  const entries: DiffEntry[] = [];
  const kinds = new Map<string, ResourceInfo>();
  const wanted = new Set<string>();
  for (const item of desiredItems(release)) {
    const ref = {
      group: item.group,
      version: item.version,
      kind: item.kind,
      name: item.name,
      ...(item.namespace ? { namespace: item.namespace } : {}),
    };
    if (!item.ok) {
      entries.push({ id: item.id, ref, action: 'error', note: item.message });
      continue;
    }
    let info: ResourceInfo;
    try {
      info = await discovery.resolve(item);
    } catch (err) {
      if (!(err instanceof KindNotServedError)) throw err;
      entries.push({
        id: item.id,
        ref,
        action: 'skip',
        note: `${err.message} (not dry-run; a CRD in the Release is installed first by a real apply)`,
      });
      continue;
    }
    kinds.set(`${info.group}/${info.version}/${info.kind}`, info);
    const namespace = info.namespaced ? item.namespace : '';
    wanted.add(identity(item.id, info.group, info.kind, namespace, item.name));
    entries.push(
      await planObject(dp, info, item, {
        release,
        ref,
        dataPlaneKey,
        resourcePolicy: target.dataPlane.spec.resourcePolicy,
        ownerExists,
        annotations: annotationsOf(release, item.index),
        inventory: Inventory.of(live?.status),
      }),
    );
  }

  if (uid && live) {
    // What a real apply would prune: objects carrying this Release's uid that no spec item wants,
    // in every kind the file or the live Release's status uses.
    const inventory = Inventory.of(live.status);
    for (const r of [...(live.status?.resources ?? []), ...(live.status?.pendingRemovals ?? [])]) {
      try {
        const info = await discovery.resolve(r);
        kinds.set(`${info.group}/${info.version}/${info.kind}`, info);
      } catch (err) {
        if (!(err instanceof KindNotServedError)) throw err;
      }
    }
    const keep = retainedByPolicy(live);
    const seen = new Set<string>();
    for (const info of kinds.values()) {
      const list = await dp.request<{ items?: KubeObject[] }>({
        method: 'GET',
        path: collectionPath(info),
        query: { labelSelector: `${Labels.releaseUid}=${uid}` },
      });
      for (const item of list.items ?? []) {
        // A list's items carry no apiVersion and kind.
        const obj: KubeObject = {
          ...item,
          apiVersion: formatApiVersion(info.group, info.version),
          kind: info.kind,
        };
        const objUid = obj.metadata.uid ?? '';
        if (seen.has(objUid) || obj.metadata.deletionTimestamp) continue;
        seen.add(objUid);
        const id = obj.metadata.labels?.[Labels.resourceId] ?? '';
        if (
          wanted.has(
            identity(
              id,
              info.group,
              info.kind,
              info.namespaced ? (obj.metadata.namespace ?? '') : '',
              obj.metadata.name ?? '',
            ),
          )
        )
          continue;
        const ref = {
          group: info.group,
          version: info.version,
          kind: info.kind,
          name: obj.metadata.name ?? '',
          ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
        };
        const kept = keep.get(JSON.stringify([info.group, info.kind, ref.namespace ?? '', ref.name]));
        const proof = inventory.proofOf(obj);
        if (!proof) {
          entries.push({
            id,
            ref,
            action: 'retain',
            live: obj,
            note: "carries the Release's labels but its uid is not in the Release's inventory: left in place, never deleted",
          });
        } else if (kept) {
          entries.push({ id, ref, action: 'retain', live: obj, note: kept });
        } else if (proof.removal === 'GiveBack') {
          entries.push({
            id,
            ref,
            action: 'retain',
            live: obj,
            note: 'adopted or pre-existing: given back (our labels removed), not deleted',
          });
        } else {
          entries.push({ id, ref, action: 'prune', live: obj });
        }
      }
    }
  }
  return entries;
}

/** Issue 15's per-object policy annotations, read from the object in the Release (never from the data plane). */
const POLICY = {
  apply: 'openchoreo.dev/apply',
  ignoreFields: 'openchoreo.dev/ignore-fields',
  prune: 'openchoreo.dev/prune',
};

/**
 * retainedByPolicy says which objects of the live Release a real apply keeps although the file
 * no longer lists them: `status.resources[].policy` records `prune: Disabled` or `apply: Observe`
 * (the annotations themselves never reach the data plane). Keyed by group, kind, namespace, name.
 */
function retainedByPolicy(live: Release): Map<string, string> {
  const keep = new Map<string, string>();
  for (const raw of (live.status?.resources ?? []) as unknown[]) {
    if (!isRecord(raw) || !isRecord(raw['policy'])) continue;
    const policy = raw['policy'];
    const reason =
      policy['prune'] === 'Disabled'
        ? `${POLICY.prune}: Disabled`
        : policy['apply'] === 'Observe'
          ? `${POLICY.apply}: Observe (never written, never deleted)`
          : undefined;
    const key = JSON.stringify([raw['group'], raw['kind'], raw['namespace'] || '', raw['name']]);
    if (reason) keep.set(key, reason);
  }
  return keep;
}

/** annotationsOf reads the annotations of a spec item as written in the Release. */
function annotationsOf(release: Release, index: number): Record<string, string> {
  const object = release.spec.resources?.[index]?.object;
  const metadata = isRecord(object) ? object['metadata'] : undefined;
  const annotations = isRecord(metadata) ? metadata['annotations'] : undefined;
  return isRecord(annotations) ? (annotations as Record<string, string>) : {};
}

function identity(id: string, group: string, kind: string, namespace: string, name: string): string {
  return JSON.stringify([id, group, kind, namespace, name]);
}

interface PlanContext {
  release: Release;
  ref: DiffEntry['ref'];
  dataPlaneKey: string;
  /** resourcePolicy is the DataPlane's spec.resourcePolicy: what its Releases may target. */
  resourcePolicy: DataPlaneResourcePolicy | undefined;
  ownerExists: (owner: { namespace: string; name: string; uid: string }) => Promise<boolean>;
  /** annotations of the object as written in the Release (policy annotations are read there). */
  annotations: Record<string, string>;
  /** inventory is what the live Release's status proves is its own. */
  inventory: Inventory;
}

/** planObject decides one object as the controller would, then dry-runs it. */
async function planObject(
  dp: KubeClient,
  info: ResourceInfo,
  item: DesiredObject,
  ctx: PlanContext,
): Promise<DiffEntry> {
  const { ref } = ctx;
  const base = { id: item.id, ref };
  if (info.namespaced && !item.namespace) {
    return { ...base, action: 'error', note: `${item.kind} is namespaced: set metadata.namespace` };
  }
  const path = objectPath(info, item.namespace, item.name);
  let live: KubeObject | undefined;
  try {
    live = await dp.request<KubeObject>({ method: 'GET', path });
  } catch (err) {
    if (!(isKubeApiError(err) && err.isNotFound)) throw err;
  }
  const owner = live ? releaseKeyOfObject(live) : undefined;
  const exists = owner && owner.uid !== ctx.release.metadata.uid ? await ctx.ownerExists(owner) : true;
  const policy = releasePolicy(
    ctx.release,
    () => exists,
    ctx.resourcePolicy,
    ctx.dataPlaneKey,
    ctx.inventory,
  );
  const refused = policy.admit?.(item, info.namespaced);
  if (refused) return { ...base, action: 'skip', live, note: refused };
  const annotations = ctx.annotations;
  if (annotations[POLICY.apply] === 'Observe') {
    return { ...base, action: 'skip', live, note: `${POLICY.apply}: Observe: never written, only observed` };
  }
  if (annotations[POLICY.apply] === 'CreateOnly' && live) {
    return {
      ...base,
      action: 'skip',
      live,
      note: `${POLICY.apply}: CreateOnly: it exists, so it is never updated`,
    };
  }
  const existing =
    live && live.metadata.labels?.[Labels.managedBy] ? { live } : live ? { foreign: live } : {};
  const conflict = policy.guard?.(item, existing);
  if (conflict) return { ...base, action: 'error', live, note: `Conflict: ${conflict}` };
  // What the controller sends: ignored fields left out (ssa/fields.ts), as in applyAll.
  const ignoredPointers = (policy.object?.(item)?.ignoreFields ?? [])
    .map(parsePointer)
    .filter((p): p is string[] => typeof p !== 'string');
  const object = removeFields(policy.prepare?.(item, info, existing).object ?? item.object, ignoredPointers);
  try {
    const after = await dp.request<KubeObject>({
      method: 'PATCH',
      path,
      query: { dryRun: 'All', fieldManager: FIELD_MANAGER, force: true },
      body: object,
      contentType: 'application/apply-patch+yaml',
    });
    const ignored = annotations[POLICY.ignoreFields];
    return {
      ...base,
      action: classify(live, after),
      live,
      after,
      ...(ignored ? { note: `${POLICY.ignoreFields}: ${ignored} not sent, as the controller does not` } : {}),
    };
  } catch (err) {
    if (!isKubeApiError(err) || err.isUnreachable) throw err;
    if (err.isNotFound && info.namespaced && isRecord(err.details) && err.details['kind'] === 'namespaces') {
      // The controller creates a missing namespace first; a dry run cannot, so show the object as written.
      return {
        ...base,
        action: 'create',
        after: object,
        note: `namespace ${item.namespace} does not exist yet (a real apply creates it); shown as sent, not dry-run`,
      };
    }
    return {
      ...base,
      action: 'error',
      live,
      // The controller's own words for the refusal (a field of the wrong type is the data plane
      // refusing the object, not "HTTP500"), never the request line.
      note: truncate(classifyFailure(err).message, MAX_ERROR_TEXT),
    };
  }
}
