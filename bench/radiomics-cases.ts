/**
 * Prints the per-class radiomics tables of `npm run bench` for brain1 (pyradiomics test case), the
 * IBSI validation CT cases STS_008 and STS_019, and the generated 40 mm sphere in a 512 × 512 × 120
 * CT volume. Settings are those of the BR-RO model card (bin width 25, label 1).
 */
import { fileURLToPath } from 'node:url';

import { loadCase } from '../src/cli/case-input.js';
import { dilateMaskMm } from '../src/imaging/dilate.js';
import type { ImageVolume, MaskVolume } from '../src/imaging/volume.js';
import { cardRadiomicsSettings } from '../src/model/analyse.js';
import { BR_RO_CARD_PATH, loadModelCard } from '../src/model/card.js';
import {
  CLASSES,
  benchBrRo,
  benchClasses,
  type BrRoBenchRow,
  type ClassBenchRow,
} from './radiomics-classes.js';
import { ctSphereCase } from './shape.js';

const SHARED = fileURLToPath(new URL('../../shared/data/', import.meta.url));

interface BenchCase {
  readonly name: string;
  readonly load: () => Promise<{ image: ImageVolume; tumour: MaskVolume }>;
}

const CASES: readonly BenchCase[] = [
  {
    name: 'brain1',
    load: () =>
      loadCase(
        `${SHARED}radiomics/pyradiomics/brain1_image.nrrd`,
        `${SHARED}radiomics/pyradiomics/brain1_label.nrrd`,
        1,
      ),
  },
  ...['STS_008', 'STS_019'].map((id) => ({
    name: `IBSI ${id}`,
    load: () =>
      loadCase(
        `${SHARED}radiomics/ibsi/ibsi_validation/nifti/${id}/CT_image.nii.gz`,
        `${SHARED}radiomics/ibsi/ibsi_validation/nifti/${id}/CT_mask.nii.gz`,
        1,
      ),
  })),
  {
    name: 'sphere 40 mm, 512×512×120',
    load: () => {
      const { image, mask } = ctSphereCase();
      return Promise.resolve({ image, tumour: mask });
    },
  },
];

/** Runs every case and prints the two tables. */
export async function benchRadiomicsClasses(): Promise<{ rows: ClassBenchRow[]; brRo: BrRoBenchRow[] }> {
  const settings = cardRadiomicsSettings(await loadModelCard(BR_RO_CARD_PATH));
  const rows: ClassBenchRow[] = [];
  const brRo: BrRoBenchRow[] = [];
  for (const benchCase of CASES) {
    const { image, tumour } = await benchCase.load();
    rows.push(benchClasses(benchCase.name, 'tumour', image, tumour, settings));
    rows.push(benchClasses(benchCase.name, 'dilated 3 mm', image, dilateMaskMm(tumour, 3), settings));
    brRo.push(benchBrRo(benchCase.name, image, tumour, settings));
  }

  console.log('\n## Radiomics engine per class (median of 5 runs after a warm-up, one thread, ms)\n');
  console.log(
    `| case | region | ROI voxels | box | levels | ROI + bins | ${CLASSES.join(' | ')} | all 107 | peak RSS MB |`,
  );
  console.log(
    `| --- | --- | ---: | --- | ---: | ---: | ${CLASSES.map(() => '---:').join(' | ')} | ---: | ---: |`,
  );
  for (const row of rows) {
    const classCells = CLASSES.map((featureClass) => row.classMs[featureClass].toFixed(1)).join(' | ');
    console.log(
      `| ${row.name} | ${row.region} | ${row.voxels} | ${row.box} | ${row.grayLevels} | ${row.sharedMs.toFixed(1)} | ` +
        `${classCells} | ${row.allMs.toFixed(1)} | ${row.peakRssMb.toFixed(0)} |`,
    );
  }

  console.log(
    '\n## BR-RO features: 3 mm dilation, 2 tumour and 4 dilated-region features (median of 5, ms)\n',
  );
  console.log('| case | dilation ms | dilation + six features ms |');
  console.log('| --- | ---: | ---: |');
  for (const row of brRo) {
    console.log(`| ${row.name} | ${row.dilationMs.toFixed(1)} | ${row.medianMs.toFixed(1)} |`);
  }
  return { rows, brRo };
}
