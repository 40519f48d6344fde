import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Release } from '../../api/v1alpha1/schema.ts';
import { Annotations } from '../../api/v1alpha1/constants.ts';
import { desiredItems, trackingLabels, type DesiredObject } from './desired.ts';
import { foreignConflict, planningIdentity, previewTarget, releasePolicy } from './policy.ts';
import { ObservedCounts } from './reconciler.ts';
import { hmacSeal, type Tenancy } from './tenancy.ts';

function release(observed: number, written: number): Release {
  const cm = (id: string, annotations?: Record<string, string>) => ({
    id,
    object: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: id, namespace: 'acme-web', annotations },
    },
  });
  return {
    apiVersion: 'openchoreo.dev/v1alpha1',
    kind: 'Release',
    metadata: { name: 'r', namespace: 'acme', uid: 'u1' },
    spec: {
      owner: { projectName: 'p', componentName: 'c' },
      environmentName: 'prod',
      resources: [
        ...Array.from({ length: written }, (_, i) => cm(`w${i}`)),
        ...Array.from({ length: observed }, (_, i) => cm(`o${i}`, { 'openchoreo.dev/apply': 'Observe' })),
      ],
    },
  };
}

function refusals(r: Release, limits: Record<string, number>, observedByOthers = 0): Map<string, string> {
  const tenancy: Tenancy = {
    mode: 'policy',
    organization: 'acme',
    policy: 'teams',
    spec: { organizations: { names: ['acme'] }, limits },
  };
  const items = desiredItems(r).filter((i): i is DesiredObject => i.ok);
  const policy = releasePolicy(
    r,
    () => false,
    undefined,
    'acme/dp',
    undefined,
    undefined,
    {
      tenancy,
      reserved: [],
      sealer: hmacSeal(Buffer.alloc(32)),
      cluster: 'c1',
      observedByOthers,
    },
    items,
  );
  const out = new Map<string, string>();
  for (const item of items) {
    const why = policy.limit?.(item) ?? policy.admit?.(item, true);
    if (why) out.set(item.id, why);
  }
  return out;
}

describe('TenantPolicy limits', () => {
  test('objects beyond objectsPerRelease are refused in spec order, naming the limit', () => {
    const refused = refusals(release(0, 5), { objectsPerRelease: 3 });
    assert.deepEqual([...refused.keys()], ['w3', 'w4']);
    assert.match(
      refused.get('w3') ?? '',
      /lists 5 objects, more than TenantPolicy teams \(spec.limits.objectsPerRelease\) allows \(3\)/,
    );
  });
  test('observed objects beyond observedPerRelease are refused; written ones are not counted', () => {
    const refused = refusals(release(4, 3), { observedPerRelease: 2 });
    assert.deepEqual([...refused.keys()], ['o2', 'o3']);
  });
  test('observedPerOrganization: a Release gets what the organization’s other Releases left', () => {
    const refused = refusals(release(4, 0), { observedPerOrganization: 5 }, 3);
    assert.deepEqual([...refused.keys()], ['o2', 'o3']);
    assert.match(
      refused.get('o2') ?? '',
      /other Releases observe 3 objects, and TenantPolicy teams \(spec.limits.observedPerOrganization\) allows 5 in all/,
    );
    assert.equal(
      refusals(release(4, 0), { observedPerOrganization: 5 }, 0).size,
      0,
      'nothing used elsewhere',
    );
  });
});

describe('operator caps on observed objects (flags)', () => {
  const caps = (perRelease: number, perOrganization: number, observedByOthers = 0) => ({
    perRelease: { limit: perRelease, rule: '--max-observed-per-release' },
    perOrganization: { limit: perOrganization, rule: '--max-observed-per-organization' },
    observedByOthers,
  });
  /** singleTenant lists what a single-tenant Release gets refused under the operator's caps. */
  const singleTenant = (r: Release, limits: ReturnType<typeof caps>): Map<string, string> => {
    const items = desiredItems(r).filter((i): i is DesiredObject => i.ok);
    const policy = releasePolicy(
      r,
      () => false,
      undefined,
      'acme/dp',
      undefined,
      undefined,
      undefined,
      items,
      limits,
    );
    const out = new Map<string, string>();
    for (const item of items) {
      const why = policy.limit?.(item) ?? policy.admit?.(item, true);
      if (why) out.set(item.id, why);
    }
    return out;
  };

  test('hold without any TenantPolicy, naming the flag', () => {
    const refused = singleTenant(release(5, 2), caps(3, 0));
    assert.deepEqual([...refused.keys()], ['o3', 'o4']);
    assert.match(
      refused.get('o3') ?? '',
      /observes 5 objects, more than --max-observed-per-release allows \(3\)/,
    );
  });

  test('the organization cap counts what the other Releases observe', () => {
    const refused = singleTenant(release(4, 0), caps(0, 5, 3));
    assert.deepEqual([...refused.keys()], ['o2', 'o3']);
    assert.match(
      refused.get('o2') ?? '',
      /other Releases observe 3 objects, and --max-observed-per-organization allows 5/,
    );
  });

  test('0 means no cap', () => {
    assert.equal(singleTenant(release(50, 0), caps(0, 0, 1000)).size, 0);
  });
});

describe('ObservedCounts', () => {
  test('counts per organization, without the asking Release, and forgets', () => {
    const counts = new ObservedCounts();
    counts.set('acme/a', 3);
    counts.set('acme/b', 2);
    counts.set('globex/c', 7);
    assert.equal(counts.byOthers('acme/a'), 2);
    assert.equal(counts.byOthers('acme/new'), 5);
    assert.equal(counts.byOthers('globex/c'), 0);
    counts.set('acme/b', 0);
    assert.equal(counts.byOthers('acme/a'), 0);
    counts.set('acme/a', 1);
    assert.equal(counts.byOthers('acme/z'), 1);
  });
});

describe('adoption of an existing Namespace', () => {
  const ns = {
    id: 'ns',
    object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'legacy' } },
  };
  const r = release(0, 0);
  r.spec.resources = [ns];
  const [item] = desiredItems(r).filter((i): i is DesiredObject => i.ok);
  const live = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'legacy', uid: 'n1' } };
  test('single-tenant adopts it unasked, unless the DataPlane forbids adoption', () => {
    assert.ok(item, 'the Namespace item');
    assert.equal(foreignConflict(item, live), undefined);
    assert.match(foreignConflict(item, live, 'acme/dp') ?? '', /DataPlane acme\/dp forbids adoption/);
  });
  test('outside single-tenant it is never adopted unless granted', () => {
    assert.ok(item, 'the Namespace item');
    assert.match(
      foreignConflict(item, live, undefined, undefined, { mode: 'default', organization: 'acme' }) ?? '',
      /adoption is not allowed/,
    );
  });
});

describe('preview of another Release (annotation openchoreo.dev/preview-of)', () => {
  const live = release(0, 2);
  const other: Release = { ...release(0, 2), metadata: { name: 'other', namespace: 'acme', uid: 'u-other' } };
  const preview = (annotations: Record<string, string>): Release => ({
    ...release(0, 2),
    metadata: { name: 'r-preview', namespace: 'acme', uid: 'u-preview', annotations },
  });
  const lookup = (name: string) => ({ r: live, other })[name];
  const objectOf = (owner: Release, id: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: id, namespace: 'acme-web', labels: trackingLabels(owner, id) },
  });
  const exists = () => true;

  test('resolves to the named Release of the namespace only on a preview', () => {
    assert.equal(previewTarget(release(0, 1), lookup).previewed, undefined);
    const target = previewTarget(
      preview({ [Annotations.applyMode]: 'DryRun', [Annotations.previewOf]: 'r' }),
      lookup,
    );
    assert.equal(target.previewed, live);
    assert.equal(target.refusal, undefined);
  });

  test('is refused on a Release that applies, naming the annotations', () => {
    const target = previewTarget(preview({ [Annotations.previewOf]: 'r' }), lookup);
    assert.equal(target.previewed, undefined);
    assert.match(
      target.refusal ?? '',
      /^Release acme\/r-preview: annotation openchoreo\.dev\/preview-of \("r"\) is honoured only on a preview; set annotation openchoreo\.dev\/apply-mode: DryRun/,
    );
  });

  test('is refused when it names a missing Release, or itself', () => {
    const missing = previewTarget(
      preview({ [Annotations.applyMode]: 'DryRun', [Annotations.previewOf]: 'gone' }),
      lookup,
    );
    assert.match(missing.refusal ?? '', /names Release "gone", which does not exist in namespace acme/);
    const self = previewTarget(
      preview({ [Annotations.applyMode]: 'DryRun', [Annotations.previewOf]: 'r-preview' }),
      lookup,
    );
    assert.match(self.refusal ?? '', /names the Release itself/);
  });

  test("judges the previewed Release's objects its own, and anyone else's still a conflict", () => {
    const p = preview({ [Annotations.applyMode]: 'DryRun', [Annotations.previewOf]: 'r' });
    const items = desiredItems(planningIdentity(p, live)).filter((i): i is DesiredObject => i.ok);
    const planning = releasePolicy(
      p,
      exists,
      undefined,
      'acme/dp',
      undefined,
      undefined,
      undefined,
      items,
      undefined,
      live,
    );
    assert.equal(planning.guard?.(items[0]!, { live: objectOf(live, 'w0') }), undefined);
    assert.match(
      planning.guard?.(items[0]!, { live: objectOf(other, 'w0') }) ?? '',
      /belongs to Release acme\/other; not taken over/,
    );
    // Without planAs (a plain DryRun under another name), the live Release's object is a conflict.
    const plain = releasePolicy(p, exists, undefined, 'acme/dp');
    assert.match(
      plain.guard?.(items[0]!, { live: objectOf(live, 'w0') }) ?? '',
      /belongs to Release acme\/r;/,
    );
  });

  test("plans with the previewed Release's labels, keeping the preview's own spec", () => {
    const p = preview({ [Annotations.applyMode]: 'DryRun', [Annotations.previewOf]: 'r' });
    const planned = planningIdentity(p, live);
    assert.deepEqual(desiredItems(planned), desiredItems(live));
    assert.equal(planningIdentity(p, undefined), p);
  });
});
