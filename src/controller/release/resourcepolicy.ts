/**
 * A DataPlane's resource policy (`spec.resourcePolicy`): which namespaces and kinds the Releases
 * that use it may target, and whether they may adopt objects they did not create. The platform
 * operator sets it on the DataPlane; a Release cannot loosen it. It is checked for each object
 * before any request for it is sent, and a refusal is reported on that resource alone.
 *
 * Patterns: a namespace pattern is a name with `*` standing for any characters (`team-a-*`); a
 * kind pattern is `Kind` (any API group) or `group/Kind`, the core group written `core`
 * (`core/Secret`), again with `*` (`rbac.authorization.k8s.io/*`). A deny that matches wins over an
 * allow; an `allow` list that is present admits only what it matches. The namespace of a namespaced
 * object is its metadata.namespace, of a Namespace its name; other cluster-scoped objects are
 * governed by the kinds alone.
 */
import type { DataPlaneResourcePolicy } from '../../api/v1alpha1/schema.ts';
import type { DesiredObject } from './desired.ts';

/** PatternList is an allow and a deny list of patterns. */
interface PatternList {
  allow?: string[];
  deny?: string[];
}

/** Admission says why an object may not be applied through a DataPlane, or undefined to let it. */
export type Admission = (item: DesiredObject) => string | undefined;

/** admissionOf returns the admission check of a DataPlane's resource policy (`dataPlane` is `namespace/name`). */
export function admissionOf(
  policy: DataPlaneResourcePolicy | undefined,
  dataPlane: string,
): Admission | undefined {
  if (!policy?.namespaces && !policy?.kinds) return undefined;
  return (item) => {
    const kind = `${item.group === '' ? 'core' : item.group}/${item.kind}`;
    const kindRule = refusal(policy.kinds, (p) => matchesKind(p, item.group, item.kind));
    if (kindRule) return refused(item, `kind ${kind}`, dataPlane, `kinds.${kindRule}`);
    const namespace = item.group === '' && item.kind === 'Namespace' ? item.name : item.namespace;
    if (!namespace) return undefined;
    const nsRule = refusal(policy.namespaces, (p) => globMatch(p, namespace));
    if (nsRule) return refused(item, `namespace ${namespace}`, dataPlane, `namespaces.${nsRule}`);
    return undefined;
  };
}

/** adoptionForbidden tells whether a DataPlane's policy forbids adopting objects Releases did not create. */
export function adoptionForbidden(policy: DataPlaneResourcePolicy | undefined): boolean {
  return policy?.adoption === 'Forbidden';
}

/** refusal returns the rule that refuses (`deny: "x"` or `allow`), or undefined when the list admits. */
function refusal(list: PatternList | undefined, matches: (pattern: string) => boolean): string | undefined {
  if (!list) return undefined;
  const denied = list.deny?.find(matches);
  if (denied !== undefined) return `deny: "${denied}"`;
  if (list.allow && !list.allow.some(matches)) return 'allow';
  return undefined;
}

function refused(item: DesiredObject, what: string, dataPlane: string, rule: string): string {
  const at = item.namespace ? `${item.namespace}/${item.name}` : item.name;
  return (
    `resource "${item.id}": ${item.kind} ${at} is not allowed on DataPlane ${dataPlane}: ${what} is refused by spec.resourcePolicy.${rule}; ` +
    `nothing was sent for it. Target a namespace and kind the DataPlane allows, or ask the platform team to change its resourcePolicy`
  );
}

/** matchesKind matches `Kind` against any group, and `group/Kind` (core group `core`) exactly, with `*` globs. */
export function matchesKind(pattern: string, group: string, kind: string): boolean {
  const slash = pattern.lastIndexOf('/');
  if (slash < 0) return globMatch(pattern, kind);
  return (
    globMatch(pattern.slice(0, slash), group === '' ? 'core' : group) &&
    globMatch(pattern.slice(slash + 1), kind)
  );
}

/** globMatch matches a pattern where `*` stands for any characters (none included). */
export function globMatch(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === value;
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (!value.startsWith(first) || value.length < first.length + last.length || !value.endsWith(last))
    return false;
  let at = first.length;
  const end = value.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const i = value.indexOf(middle, at);
    if (i < 0 || i + middle.length > end) return false;
    at = i + middle.length;
  }
  return true;
}
