/**
 * The checked-in CRDs of config/crd/ on a real API server: after the controller's own install (the
 * suite applies them as field manager `test-crds`, as the demo does as `rc-demo`), a person's
 * `kubectl apply --server-side -f config/crd/` succeeds without a conflict, and the API server
 * stores each schema exactly as the file says. A key apiextensions does not know (TypeBox's `const`)
 * is dropped silently, so the stored CRD would differ from the file: GitOps tools then show a
 * permanent diff.
 *
 *   npm run test:integration -- test/crds/roundtrip.test.ts
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/api/object.ts';
import { ALL_CRDS, openAPIV3SchemaOf, type JsonSchema } from '../../src/api/v1alpha1/crd.ts';
import { kubectl } from '../../testbed/cluster.ts';
import { integrationSuite } from '../support/suite.ts';

const CONFIG_CRDS = resolve(import.meta.dirname, '../../config/crd');

/** crdFiles reads every CustomResourceDefinition of config/crd/. */
async function crdFiles(): Promise<{ file: string; crd: KubeObject & JsonSchema }[]> {
  const found = [];
  for (const file of (await readdir(CONFIG_CRDS)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(await readFile(join(CONFIG_CRDS, file), 'utf8'))) {
      const crd = doc.toJS() as (KubeObject & JsonSchema) | null;
      if (crd?.kind === 'CustomResourceDefinition') found.push({ file, crd });
    }
  }
  return found;
}

describe('config/crd/ round-trips through a real API server', () => {
  const suite = integrationSuite({ org: false, controller: false });

  it("kubectl apply --server-side -f config/crd/ after the controller's install conflicts with nothing", async () => {
    const out = await kubectl(suite.clusters.cp, ['apply', '--server-side', '-f', CONFIG_CRDS]);
    for (const { crd } of await crdFiles()) {
      assert.match(
        out,
        new RegExp(`customresourcedefinition.apiextensions.k8s.io/${crd.metadata.name} serverside-applied`),
      );
    }
  });

  it('the API server stores each openAPIV3Schema exactly as the file says', async () => {
    const files = await crdFiles();
    assert.equal(files.length, ALL_CRDS.length, 'config/crd/ holds every CRD the controller generates');
    for (const { file, crd } of files) {
      const stored = await suite.cp.get<KubeObject & JsonSchema>(
        'apiextensions.k8s.io/v1',
        'CustomResourceDefinition',
        undefined,
        crd.metadata.name ?? '',
      );
      assert.ok(stored, `CustomResourceDefinition/${crd.metadata.name} is on the API server`);
      assert.deepEqual(
        openAPIV3SchemaOf(stored),
        openAPIV3SchemaOf(crd),
        `${file}: stored schema differs from the file`,
      );
    }
  });
});
