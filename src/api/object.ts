/** Generic Kubernetes object types shared by every module that handles arbitrary kinds. */

/** ObjectMeta is the part of metav1.ObjectMeta the controller reads or writes. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string }>;
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

/** ManagedFieldsEntry is one entry of metadata.managedFields. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

/** KubeObject is any Kubernetes object, read as plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** GroupVersionKind identifies a kind. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** parseApiVersion splits `group/version` (or a core `version`) into its parts. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_DNS_LABEL = 63;
const MAX_DNS_SUBDOMAIN = 253;

/**
 * apiVersionProblem says what is wrong with an `apiVersion` (undefined when nothing is): its group
 * must be a DNS subdomain and its version a DNS label, as the API server requires of every served
 * group-version. Both become segments of request paths, so a tenant's `v1?watch=true` must never
 * get that far.
 */
export function apiVersionProblem(apiVersion: string): string | undefined {
  const { group, version } = parseApiVersion(apiVersion);
  if (version.length > MAX_DNS_LABEL || !DNS_LABEL.test(version)) {
    return `the version of apiVersion must be a DNS label (at most ${MAX_DNS_LABEL} lowercase letters, digits and '-', starting and ending alphanumeric)`;
  }
  const slash = apiVersion.indexOf('/');
  if (
    slash >= 0 &&
    (group.length > MAX_DNS_SUBDOMAIN ||
      !group.split('.').every((l) => l.length <= MAX_DNS_LABEL && DNS_LABEL.test(l)))
  ) {
    return `the group of apiVersion must be a DNS subdomain (at most ${MAX_DNS_SUBDOMAIN} characters of dot-separated DNS labels)`;
  }
  return undefined;
}

/** formatApiVersion joins group and version into an `apiVersion`. */
export function formatApiVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** describeRef renders an object reference as `Kind/namespace/name` (or `Kind/name` when cluster-scoped). */
export function describeRef(ref: { kind: string; name: string; namespace?: string }): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}

/** isRecord tells whether a value is a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Condition is the common shape of a status condition on any kind. */
export interface ObjectCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/** conditionsOf reads `status.conditions` of any object, ignoring malformed entries. */
export function conditionsOf(obj: { [key: string]: unknown }): ObjectCondition[] {
  const status = obj['status'];
  if (!isRecord(status) || !Array.isArray(status['conditions'])) return [];
  return status['conditions'].filter(
    (c): c is ObjectCondition =>
      isRecord(c) && typeof c['type'] === 'string' && typeof c['status'] === 'string',
  );
}

/** findCondition returns the condition of the given type, if any. */
export function findCondition(obj: { [key: string]: unknown }, type: string): ObjectCondition | undefined {
  return conditionsOf(obj).find((c) => c.type === type);
}

/**
 * isApplyEntryOf tells whether a managedFields entry is the server-side apply field set of one
 * field manager on the object itself (not an Update, not a subresource): "the fields it owns".
 */
export function isApplyEntryOf(entry: ManagedFieldsEntry, fieldManager: string): boolean {
  return entry.manager === fieldManager && entry.operation === 'Apply' && !entry.subresource;
}

/** withoutManagedFields drops metadata.managedFields, often the largest part of an object, for caches that never read it. */
export function withoutManagedFields<T extends KubeObject>(obj: KubeObject): T {
  if (!obj.metadata.managedFields) return obj as T;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata } as T;
}

/**
 * jsonEqual compares two JSON values structurally: object key order does not matter, a key whose
 * value is undefined counts as absent (as in JSON.stringify), array order does. It allocates
 * nothing, so comparing a large status on every reconcile stays cheap.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  let keysOfA = 0;
  for (const key in a) {
    const value = a[key];
    if (value === undefined) continue;
    keysOfA++;
    if (!Object.hasOwn(b, key) || !jsonEqual(value, b[key])) return false;
  }
  let keysOfB = 0;
  for (const key in b) if (b[key] !== undefined) keysOfB++;
  return keysOfA === keysOfB;
}
