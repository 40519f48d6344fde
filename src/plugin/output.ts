/**
 * `get -o json|yaml|name`: the Release API objects as kubectl prints them. One named Release is
 * printed as itself; a list as a `v1` `List` (kubectl's shape), so `jq .items[]` and
 * `kubectl apply -f` work on it. As in kubectl without `--show-managed-fields`, managedFields are
 * left out. Pure.
 */
import { stringify } from 'yaml';
import { isRecord } from '../api/object.ts';
import { GROUP } from '../api/v1alpha1/constants.ts';

/** withoutManagedFields drops metadata.managedFields, as kubectl's printers do by default. */
export function withoutManagedFields(obj: unknown): unknown {
  if (!isRecord(obj) || !isRecord(obj['metadata']) || !('managedFields' in obj['metadata'])) return obj;
  const metadata = { ...obj['metadata'] };
  delete metadata['managedFields'];
  return { ...obj, metadata };
}

/** asList wraps objects in kubectl's `List`. */
export function asList(items: readonly unknown[]): unknown {
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: items.map(withoutManagedFields),
    metadata: { resourceVersion: '' },
  };
}

/** printObjects renders one object (single) or a List of them as JSON or YAML. */
export function printObjects(items: readonly unknown[], format: 'json' | 'yaml', single: boolean): string {
  const value = single ? withoutManagedFields(items[0]) : asList(items);
  return format === 'json' ? `${JSON.stringify(value, null, 4)}\n` : stringify(value);
}

/** printNames renders `-o name`: `release.openchoreo.dev/NAME`, one a line. */
export function printNames(items: readonly unknown[]): string {
  return items
    .map((obj) => {
      const metadata = isRecord(obj) && isRecord(obj['metadata']) ? obj['metadata'] : {};
      const name = metadata['name'];
      return `release.${GROUP}/${typeof name === 'string' ? name : ''}\n`;
    })
    .join('');
}
