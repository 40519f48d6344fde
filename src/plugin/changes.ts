/**
 * The report of `kubectl release diff` from the controller's own plan: each outcome of the apply
 * step run in dry-run (controller/release/apply.ts, over the read-only port) becomes one entry of
 * the view (diffview.ts), and so does each stale object of the prune plan (controller/release/
 * prune.ts prunePlan). Pure: the decisions are all the controller's; this only says them.
 */
import type { KubeObject } from '../api/object.ts';
import { Annotations, ApplyModes } from '../api/v1alpha1/constants.ts';
import type { ItemOutcome } from '../controller/release/apply.ts';
import { resourceIdOf } from '../controller/release/prune.ts';
import type { ManagedObject } from '../dataplane/port.ts';
import type { RemovalPlan } from '../ssa/delete.ts';
import type { DiffEntry } from './diffview.ts';

/** NOT_PROVEN says why an object with the Release's labels is never pruned. */
const NOT_PROVEN =
  "carries the Release's labels but its uid is not in the Release's inventory: left in place, never deleted";

/** GIVEN_BACK says what a prune does with an adopted object. */
const GIVEN_BACK = 'adopted or pre-existing: given back (our labels removed), not deleted';

/**
 * withoutId drops the `resource "<id>": ` a controller message starts with: the report names the
 * id on the same line already.
 */
function withoutId(message: string | undefined, id: string): string | undefined {
  const prefix = `resource "${id}": `;
  let text = message;
  // A plan's message may carry it twice (the apply step names the id before the plan's own words).
  while (text?.startsWith(prefix)) text = text.slice(prefix.length);
  return text;
}

/**
 * entryOfOutcome says what a real apply would do with one spec item, as the dry-run apply step
 * planned it; `answer` is what the data plane's dry run answered for it (the object as a real
 * apply would leave it).
 */
export function entryOfOutcome(o: ItemOutcome, answer: KubeObject | undefined): DiffEntry {
  const { item } = o;
  const ref = {
    group: item.group,
    version: item.version,
    kind: item.kind,
    name: item.name,
    ...(item.namespace && o.namespaced !== false && { namespace: item.namespace }),
  };
  const base = { id: item.id, ref, ...(o.live && { live: o.live }) };
  const note = withoutId(o.message ?? o.plan?.message, item.id);
  const noted = note ? { note } : {};
  if (!item.ok) return { ...base, action: 'error', note: withoutId(item.message, item.id) ?? '' };
  if (o.state === 'notAllowed') return { ...base, action: 'skip', ...noted };
  if (o.state === 'waiting')
    return {
      ...base,
      action: 'skip',
      note: `${note ?? 'its kind is not served yet'} (not dry-run: a real apply installs the CRD first)`,
    };
  if (o.state !== 'applied' || o.plan?.action === 'Error') return { ...base, action: 'error', ...noted };
  const ignored = item.policy?.ignoreFields;
  const ignoredNote = ignored?.length
    ? { note: `${Annotations.ignoreFields}: ${ignored.join(',')} not sent, as the controller does not` }
    : {};
  switch (o.plan?.action) {
    case 'Create':
      // A missing namespace leaves nothing to dry-run against: shown as the controller sends it.
      return answer
        ? { ...base, action: 'create', after: answer, ...(note ? noted : ignoredNote) }
        : {
            ...base,
            action: 'create',
            after: item.object,
            note: `${note ?? ''}; shown as sent, not dry-run`,
          };
    case 'Update':
      return { ...base, action: 'change', after: answer ?? item.object, ...ignoredNote };
    default:
      if (item.policy?.apply === ApplyModes.observe)
        return {
          ...base,
          action: 'skip',
          note: `${Annotations.apply}: ${ApplyModes.observe}: never written, only observed`,
        };
      if (item.policy?.apply === ApplyModes.createOnly && o.live)
        return {
          ...base,
          action: 'skip',
          note: `${Annotations.apply}: ${ApplyModes.createOnly}: it exists, so it is never updated`,
        };
      return { ...base, action: 'unchanged', ...noted };
  }
}

/** entryOfStale is one stale object of the prune plan. */
function entryOfStale(m: ManagedObject, action: 'prune' | 'retain', note?: string): DiffEntry {
  const { object, info } = m;
  const id = resourceIdOf(object);
  return {
    ...(id && { id }),
    ref: {
      group: info.group,
      version: info.version,
      kind: info.kind,
      name: object.metadata.name ?? '',
      ...(object.metadata.namespace && { namespace: object.metadata.namespace }),
    },
    action,
    live: object,
    ...(note && { note }),
  };
}

/** entriesOfRemovals says what a real prune would do with each object the spec no longer has. */
export function entriesOfRemovals(plan: RemovalPlan | undefined): DiffEntry[] {
  if (!plan) return [];
  return [
    ...plan.deleted.map((m) => entryOfStale(m, 'prune')),
    ...plan.givenBack.map((m) => entryOfStale(m, 'retain', GIVEN_BACK)),
    ...plan.retained.map((m) => entryOfStale(m, 'retain', m.reason)),
    ...plan.notOwned.map((m) => entryOfStale(m, 'retain', NOT_PROVEN)),
  ];
}
