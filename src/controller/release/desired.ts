/**
 * Desired state: turns each spec.resources item into the object we apply (server-populated fields
 * removed, tracking labels added), or into a precise error naming the id and the field. Pure.
 */
import { hash } from 'node:crypto';
import { digest128 } from '../../api/digest.ts';
import type { KubeObject } from '../../api/object.ts';
import { apiVersionProblem, isRecord, parseApiVersion } from '../../api/object.ts';
import {
  Annotations,
  ApplyModes,
  Labels,
  POLICY_ANNOTATIONS,
  PruneModes,
} from '../../api/v1alpha1/constants.ts';
import { PROFILES, profileOf, trackingOf } from '../../api/v1alpha1/profile.ts';
import type { Release, ResourcePolicy } from '../../api/v1alpha1/schema.ts';
import { oneLine, truncate } from '../../api/text.ts';
import { escapeSegment, parsePointer } from '../../ssa/fields.ts';

/** MAX_LABEL_VALUE is the longest label value Kubernetes accepts. */
export const MAX_LABEL_VALUE = 63;

/** DesiredObject is one spec item that can be applied. */
export interface DesiredObject {
  ok: true;
  id: string;
  index: number;
  group: string;
  version: string;
  kind: string;
  name: string;
  /** namespace as written in the spec ("" when absent); checked against the kind's scope later. */
  namespace: string;
  object: KubeObject;
  /** hash identifies the exact object we apply; a change means an apply is needed. */
  hash: string;
  /** policy is what the object's policy annotations ask for (they are not sent to the data plane). */
  policy?: ResourcePolicy;
  /**
   * adopt is the object's `openchoreo.dev/adopt` annotation as written (validated when an adoption
   * needs it); like the policy annotations it is read from the Release only, never sent.
   */
  adopt?: string;
}

/** MAX_IGNORED_FIELDS bounds the pointers of one openchoreo.dev/ignore-fields annotation. */
export const MAX_IGNORED_FIELDS = 64;

/**
 * PROTECTED_FIELDS may not be ignored, nor anything above them: the object's identity and our
 * tracking labels and marks, without which it would not be found again or would read as another's.
 */
const PROTECTED_FIELDS: readonly string[][] = [
  ['apiVersion'],
  ['kind'],
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ...Object.values(Labels).map((l) => ['metadata', 'labels', l]),
  ...PROFILES.flatMap((p) => Object.values(p.labels).map((l) => ['metadata', 'labels', l])),
  ['metadata', 'annotations', Annotations.adopted],
  ...PROFILES.map((p) => ['metadata', 'annotations', p.labels.name]),
];

/**
 * objectPolicy reads the policy annotations of a spec object: the policy, or the message naming
 * the annotation whose value is not understood.
 */
export function objectPolicy(
  annotations: Record<string, string>,
  shardKeys: readonly string[] = [],
): ResourcePolicy | string {
  const policy: ResourcePolicy = {};
  const apply = annotations[Annotations.apply];
  if (apply !== undefined) {
    if (apply !== ApplyModes.createOnly && apply !== ApplyModes.observe)
      return `annotation ${Annotations.apply} is "${truncate(apply, 40)}"; it must be "${ApplyModes.createOnly}" or "${ApplyModes.observe}"`;
    policy.apply = apply;
  }
  const prune = annotations[Annotations.prune];
  if (prune !== undefined) {
    if (prune !== PruneModes.disabled)
      return `annotation ${Annotations.prune} is "${truncate(prune, 40)}"; it must be "${PruneModes.disabled}" (or be left out)`;
    policy.prune = prune;
  }
  const ignore = annotations[Annotations.ignoreFields];
  if (ignore !== undefined) {
    const pointers = [...new Set(ignore.split(',').map((p) => p.trim()))].filter((p) => p !== '');
    if (pointers.length === 0) return `annotation ${Annotations.ignoreFields} names no field`;
    if (pointers.length > MAX_IGNORED_FIELDS)
      return `annotation ${Annotations.ignoreFields} names ${pointers.length} fields; at most ${MAX_IGNORED_FIELDS}`;
    for (const pointer of pointers) {
      if (pointer.length > 256)
        return `annotation ${Annotations.ignoreFields}: "${truncate(pointer, 80)}" is longer than 256 characters`;
      const segments = parsePointer(pointer);
      if (typeof segments === 'string') return `annotation ${Annotations.ignoreFields}: ${segments}`;
      const hit = [...PROTECTED_FIELDS, ...shardKeys.map((k) => ['metadata', 'labels', k])].find(
        (p) => segments.length <= p.length && segments.every((s, i) => s === p[i]),
      );
      if (hit)
        return `annotation ${Annotations.ignoreFields}: "${truncate(pointer, 80)}" covers /${hit.map(escapeSegment).join('/')}, which the controller must apply`;
    }
    policy.ignoreFields = pointers;
  }
  return policy;
}

/** InvalidObject is one spec item that cannot be applied, with what is known of it. */
export interface InvalidObject {
  ok: false;
  id: string;
  index: number;
  group: string;
  version: string;
  kind: string;
  name: string;
  namespace: string;
  /** message names the id and the field, e.g. `resource "web": object has no metadata.name`. */
  message: string;
}

/** DesiredItem is one spec item, valid or not. */
export type DesiredItem = DesiredObject | InvalidObject;

/** SERVER_FIELDS are metadata fields the API server owns; sending them breaks apply. */
const SERVER_FIELDS = [
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];

/**
 * labelValue fits a value into a label: unchanged when short enough, else a prefix plus a hash,
 * so distinct long names stay distinct. The full value goes into an annotation of the same key.
 */
export function labelValue(value: string): string {
  if (value.length <= MAX_LABEL_VALUE) return value;
  const suffix = hash('sha256', value, 'hex').slice(0, 10);
  const prefix = value.slice(0, MAX_LABEL_VALUE - suffix.length - 1).replace(/[^A-Za-z0-9]+$/, '');
  return `${prefix}-${suffix}`;
}

/**
 * trackingLabels are the labels every applied object carries for this Release (of its kind's
 * profile) and id. Objects of every kind also carry `openchoreo.dev/release-namespace` (a Release's
 * own namespace label; a RenderedRelease's besides upstream's): it is the organization a DataPlane's
 * watches select (dataplane/watches.ts managedSelector), one key for both kinds.
 */
export function trackingLabels(release: Release, id: string): Record<string, string> {
  const { controllerName, labels } = profileOf(release);
  return {
    [Labels.managedBy]: controllerName,
    [Labels.releaseNamespace]: release.metadata.namespace ?? '',
    [labels.resourceId]: id,
    [labels.uid]: release.metadata.uid ?? '',
    [labels.name]: labelValue(release.metadata.name),
    [labels.namespace]: release.metadata.namespace ?? '',
  };
}

/** MAX_QUOTED_API_VERSION bounds how much of an invalid apiVersion a message quotes. */
const MAX_QUOTED_API_VERSION = 80;

/**
 * desiredItems builds the desired object or the error of every spec item, in spec order. `shardKeys`
 * are the label keys of the controller's --release-selector (shard.ts shardLabelKeys): each object
 * carries the Release's values of them, and not the key where the Release has none, so the object is
 * in the data-plane watch of exactly the shard that serves its Release.
 */
export function desiredItems(release: Release, shardKeys: readonly string[] = []): DesiredItem[] {
  return (release.spec.resources ?? []).map((resource, index) =>
    desiredItem(release, resource.id, resource.object as unknown, index, shardKeys),
  );
}

/**
 * shardLabels sets the Release's values of the shard keys on an object's labels and removes the
 * keys the Release does not have (the object's own value would put it in another shard's watch).
 */
export function shardLabels(
  labels: Record<string, string>,
  release: Release,
  shardKeys: readonly string[],
): Record<string, string> {
  for (const key of shardKeys) {
    const value = release.metadata.labels?.[key];
    if (value === undefined) delete labels[key];
    else labels[key] = value;
  }
  return labels;
}

function desiredItem(
  release: Release,
  id: string,
  raw: unknown,
  index: number,
  shardKeys: readonly string[],
): DesiredItem {
  const known = { id, index, group: '', version: '', kind: '', name: '', namespace: '' };
  const invalid = (problem: string): InvalidObject => ({
    ok: false,
    ...known,
    message: `resource "${id}": ${problem}`,
  });
  if (!isRecord(raw)) return invalid('object is not a JSON object');
  const apiVersion = raw['apiVersion'];
  const kind = raw['kind'];
  const metadata = raw['metadata'];
  if (typeof kind === 'string') known.kind = kind;
  // An invalid apiVersion is not kept even in the status entry: its parts become request paths.
  const versionProblem = typeof apiVersion === 'string' ? apiVersionProblem(apiVersion) : undefined;
  if (typeof apiVersion === 'string' && !versionProblem) Object.assign(known, parseApiVersion(apiVersion));
  if (isRecord(metadata)) {
    if (typeof metadata['name'] === 'string') known.name = metadata['name'];
    if (typeof metadata['namespace'] === 'string') known.namespace = metadata['namespace'];
  }
  if (typeof apiVersion !== 'string' || apiVersion === '') return invalid('object has no apiVersion');
  if (versionProblem) {
    return invalid(
      `apiVersion ${JSON.stringify(oneLine(apiVersion, MAX_QUOTED_API_VERSION))} is invalid: ${versionProblem}`,
    );
  }
  if (typeof kind !== 'string' || kind === '') return invalid('object has no kind');
  if (!isRecord(metadata)) return invalid('object has no metadata');
  if (typeof metadata['name'] !== 'string' || metadata['name'] === '') {
    return invalid(
      `${kind} has no metadata.name (generateName is not supported: the controller must find the object again)`,
    );
  }
  if (metadata['namespace'] !== undefined && typeof metadata['namespace'] !== 'string') {
    return invalid(`${kind}/${metadata['name']}: metadata.namespace is not a string`);
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map !== undefined && (!isRecord(map) || Object.values(map).some((v) => typeof v !== 'string'))) {
      return invalid(`${kind}/${metadata['name']}: metadata.${field} must map strings to strings`);
    }
  }

  const cleanMeta: Record<string, unknown> = { ...metadata };
  for (const f of SERVER_FIELDS) delete cleanMeta[f];
  const annotations = { ...((metadata['annotations'] as Record<string, string> | undefined) ?? {}) };
  const policy = objectPolicy(annotations, shardKeys);
  if (typeof policy === 'string') return invalid(`${kind}/${metadata['name']}: ${policy}`);
  // Instructions to the controller, read from the Release only: not sent, so an edit on the data
  // plane cannot change what the controller does.
  for (const key of POLICY_ANNOTATIONS) delete annotations[key];
  const adopt = annotations[Annotations.adopt];
  delete annotations[Annotations.adopt];
  // The annotation is ours (of either kind): it names the Release when the label cannot hold the whole name.
  for (const p of PROFILES) delete annotations[p.labels.name];
  if (release.metadata.name.length > MAX_LABEL_VALUE)
    annotations[profileOf(release).labels.name] = release.metadata.name;
  cleanMeta['labels'] = shardLabels(
    { ...(metadata['labels'] ?? {}), ...trackingLabels(release, id) },
    release,
    shardKeys,
  );
  if (Object.keys(annotations).length > 0) cleanMeta['annotations'] = annotations;
  else delete cleanMeta['annotations'];
  const object: KubeObject = { ...raw, apiVersion, kind, metadata: cleanMeta };
  delete object['status'];
  const restarted = withRestart(release, known.group, object);
  if (typeof restarted === 'string') return invalid(`${kind}/${metadata['name']}: ${restarted}`);
  return {
    ok: true,
    ...known,
    object: restarted,
    // Plain JSON.stringify, not a key-sorting one: the API server always serializes a Release's
    // objects with sorted keys and the steps above add fields in a fixed order, so equal objects
    // render equally. Were the order ever to differ, the cost is one unneeded apply, never a
    // missed one. Sorting keys on every reconcile was the controller's largest allocation.
    hash: digest128(JSON.stringify(restarted)),
    ...(Object.keys(policy).length > 0 && { policy }),
    ...(adopt !== undefined && { adopt }),
  };
}

/**
 * withRestart copies the Release's `openchoreo.dev/restartedAt` annotation into the pod template
 * of an apps/Deployment (OpenChoreo's restart: a new value rolls the pods), leaving every other
 * object as it is. It returns what is wrong when the pod template's annotations are not a map of
 * strings.
 */
export function withRestart(release: Release, group: string, object: KubeObject): KubeObject | string {
  const value = release.metadata.annotations?.[Annotations.restartedAt];
  if (value === undefined || group !== 'apps' || object.kind !== 'Deployment') return object;
  const spec = object['spec'];
  const template = isRecord(spec) ? spec['template'] : undefined;
  if (!isRecord(spec) || !isRecord(template)) {
    return `cannot inject ${Annotations.restartedAt}: the Deployment has no spec.template`;
  }
  const meta = template['metadata'] ?? {};
  const annotations = isRecord(meta) ? (meta['annotations'] ?? {}) : undefined;
  if (
    !isRecord(meta) ||
    !isRecord(annotations) ||
    Object.values(annotations).some((v) => typeof v !== 'string')
  ) {
    return `cannot inject ${Annotations.restartedAt}: spec.template.metadata.annotations must map strings to strings`;
  }
  return {
    ...object,
    spec: {
      ...spec,
      template: {
        ...template,
        metadata: { ...meta, annotations: { ...annotations, [Annotations.restartedAt]: value } },
      },
    },
  };
}

/**
 * releaseKeyOfObject reads the Release (of either kind: trackingOf says which) a managed object
 * belongs to from its labels.
 */
export function releaseKeyOfObject(
  obj: KubeObject,
): { namespace: string; name: string; uid: string } | undefined {
  const tracking = trackingOf(obj);
  if (!tracking?.namespace || !tracking.name) return undefined;
  return { namespace: tracking.namespace, name: tracking.name, uid: tracking.uid };
}

/** deletionPolicy reads the Release's deletion policy annotation. */
export function deletionPolicy(release: Release): 'Delete' | 'Orphan' {
  return release.metadata.annotations?.[Annotations.deletionPolicy]?.toLowerCase() === 'orphan'
    ? 'Orphan'
    : 'Delete';
}
