/** generate writes config/crd/*.yaml from the schemas (npm run gen:crds). */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_CRDS, renderCRD } from './crd.ts';

const dir = join(import.meta.dirname, '../../../config/crd');
mkdirSync(dir, { recursive: true });
for (const { file, crd } of ALL_CRDS) {
  writeFileSync(join(dir, file), renderCRD(crd));
  console.log(`wrote config/crd/${file}`);
}
