import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_CRDS, renderCRD } from './crd.ts';

const root = join(import.meta.dirname, '../../..');

test('config/crd and the chart hold the CRDs generated from the schemas (run npm run gen:crds)', () => {
  for (const dir of ['config/crd', 'charts/release-controller/files/crds']) {
    for (const { file, crd } of ALL_CRDS) {
      assert.equal(readFileSync(join(root, dir, file), 'utf8'), renderCRD(crd), `${dir}/${file} is stale`);
    }
  }
});

test('the Release CRD has the printer columns and list-map keys of the contract', () => {
  const release = ALL_CRDS.find((c) => c.file === 'openchoreo.dev_releases.yaml')?.crd;
  const text = JSON.stringify(release);
  for (const column of ['Project', 'Component', 'Environment', 'Ready', 'Age']) {
    assert.ok(text.includes(`"name":"${column}"`), `printer column ${column}`);
  }
  assert.ok(text.includes('"x-kubernetes-list-map-keys":["id"]'), 'resources is a list-map keyed by id');
  assert.ok(text.includes('"rule":"self == oldSelf"'), 'owner is immutable');
});
