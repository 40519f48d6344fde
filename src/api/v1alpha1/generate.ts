/** generate writes the CRDs into config/crd/ and the Helm chart (npm run gen:crds); tests fail when either is stale. */
import '../../node-version.ts'; // first: on a too-old Node.js, one line saying what to do
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_CRDS, renderCRD } from './crd.ts';

const root = join(import.meta.dirname, '../../..');
for (const dir of ['config/crd', 'charts/release-controller/files/crds']) {
  mkdirSync(join(root, dir), { recursive: true });
  for (const { file, crd } of ALL_CRDS) {
    writeFileSync(join(root, dir, file), renderCRD(crd));
    console.log(`wrote ${dir}/${file}`);
  }
}
