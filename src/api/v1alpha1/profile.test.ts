import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FINALIZER, Labels, OBSPLANE_FINALIZER } from './constants.ts';
import {
  FINALIZERS,
  MANAGED_BY_VALUES,
  parseReleaseKey,
  profileByPlural,
  profileOf,
  RELEASE_PROFILE,
  releaseKey,
  releaseKeyOf,
  RENDERED_RELEASE_PROFILE,
  trackingOf,
} from './profile.ts';

const spec = (targetPlane?: string) => ({
  spec: { environmentName: 'production', ...(targetPlane !== undefined && { targetPlane }) },
});

describe('kind profiles', () => {
  test("RenderedRelease has upstream's names, controller name and labels", () => {
    assert.deepEqual(
      {
        kind: RENDERED_RELEASE_PROFILE.kind,
        plural: RENDERED_RELEASE_PROFILE.plural,
        controllerName: RENDERED_RELEASE_PROFILE.controllerName,
        labels: RENDERED_RELEASE_PROFILE.labels,
      },
      {
        kind: 'RenderedRelease',
        plural: 'renderedreleases',
        controllerName: 'renderedrelease-controller',
        labels: {
          resourceId: 'openchoreo.dev/rendered-release-resource-id',
          uid: 'openchoreo.dev/rendered-release-uid',
          name: 'openchoreo.dev/rendered-release-name',
          namespace: 'openchoreo.dev/rendered-release-namespace',
        },
      },
    );
  });

  test('Release keeps the names and labels it always had', () => {
    assert.equal(RELEASE_PROFILE.controllerName, 'release-controller');
    assert.equal(RELEASE_PROFILE.statusFieldManager, 'release-controller-status');
    assert.deepEqual(RELEASE_PROFILE.labels, {
      resourceId: Labels.resourceId,
      uid: Labels.releaseUid,
      name: Labels.releaseName,
      namespace: Labels.releaseNamespace,
    });
    assert.deepEqual(MANAGED_BY_VALUES, ['release-controller', 'renderedrelease-controller']);
  });

  test('profileOf chooses by kind; no kind or an unknown one is a Release', () => {
    assert.equal(profileOf({ kind: 'RenderedRelease' }), RENDERED_RELEASE_PROFILE);
    assert.equal(profileOf({ kind: 'Release' }), RELEASE_PROFILE);
    assert.equal(profileOf({}), RELEASE_PROFILE);
    assert.equal(profileOf({ kind: 'Deployment' }), RELEASE_PROFILE);
    assert.equal(profileByPlural('renderedreleases'), RENDERED_RELEASE_PROFILE);
    assert.equal(profileByPlural('deployments'), undefined);
  });

  test('target plane: namespaces, observability plane and finalizer', () => {
    const table: Array<[string | undefined, boolean, boolean, string]> = [
      [undefined, false, false, FINALIZER],
      ['dataplane', false, false, FINALIZER],
      ['observabilityplane', true, true, OBSPLANE_FINALIZER],
    ];
    for (const [plane, creates, observability, finalizer] of table) {
      const r = spec(plane);
      assert.equal(RENDERED_RELEASE_PROFILE.createsNamespaces(r), creates, `createsNamespaces ${plane}`);
      assert.equal(
        RENDERED_RELEASE_PROFILE.targetsObservabilityPlane(r),
        observability,
        `observability ${plane}`,
      );
      assert.equal(RENDERED_RELEASE_PROFILE.finalizer(r), finalizer, `finalizer ${plane}`);
      // A Release has no target plane: it always creates namespaces on its data plane.
      assert.equal(RELEASE_PROFILE.createsNamespaces(r), true);
      assert.equal(RELEASE_PROFILE.targetsObservabilityPlane(r), false);
      assert.equal(RELEASE_PROFILE.finalizer(r), FINALIZER);
    }
    assert.deepEqual(FINALIZERS, [FINALIZER, OBSPLANE_FINALIZER]);
  });

  test('keys: a Release keeps namespace/name; another kind adds its plural; both read back', () => {
    assert.equal(releaseKey(RELEASE_PROFILE, 'acme', 'web'), 'acme/web');
    assert.equal(releaseKey(RENDERED_RELEASE_PROFILE, 'acme', 'web'), 'acme/web/renderedreleases');
    assert.equal(
      releaseKeyOf({ kind: 'RenderedRelease', metadata: { namespace: 'acme', name: 'web' } }),
      'acme/web/renderedreleases',
    );
    assert.deepEqual(parseReleaseKey('acme/web'), {
      namespace: 'acme',
      name: 'web',
      profile: RELEASE_PROFILE,
    });
    assert.deepEqual(parseReleaseKey('acme/web/renderedreleases'), {
      namespace: 'acme',
      name: 'web',
      profile: RENDERED_RELEASE_PROFILE,
    });
    // An unknown suffix is no other kind's key.
    assert.equal(parseReleaseKey('acme/web/pods').profile, RELEASE_PROFILE);
  });

  test('trackingOf reads the labels of the kind the managed-by label names', () => {
    const rendered = {
      metadata: {
        labels: {
          [Labels.managedBy]: 'renderedrelease-controller',
          'openchoreo.dev/rendered-release-resource-id': 'deployment',
          'openchoreo.dev/rendered-release-uid': 'u-1',
          'openchoreo.dev/rendered-release-name': 'short',
          'openchoreo.dev/rendered-release-namespace': 'acme',
          // A Release label on the same object is not read for a RenderedRelease's object.
          [Labels.releaseUid]: 'u-2',
        },
        annotations: { 'openchoreo.dev/rendered-release-name': 'the-full-name' },
      },
    };
    assert.deepEqual(trackingOf(rendered), {
      profile: RENDERED_RELEASE_PROFILE,
      resourceId: 'deployment',
      uid: 'u-1',
      name: 'the-full-name',
      namespace: 'acme',
    });
    assert.equal(
      trackingOf({
        metadata: { labels: { [Labels.managedBy]: 'release-controller', [Labels.releaseUid]: 'u-3' } },
      })?.uid,
      'u-3',
    );
    // A Namespace the controller made carries created-by, not managed-by: found by its uid label.
    assert.equal(
      trackingOf({ metadata: { labels: { 'openchoreo.dev/rendered-release-uid': 'u-4' } } })?.profile,
      RENDERED_RELEASE_PROFILE,
    );
    assert.equal(trackingOf({ metadata: { labels: { [Labels.managedBy]: 'someone-else' } } }), undefined);
    assert.equal(trackingOf({ metadata: {} }), undefined);
  });
});
