/**
 * Wall time and memory of the BR-RO pipeline on one core: features of both regions plus scoring,
 * on the pyradiomics brain1 case, the dcmqi CT with its liver SEG (107,098 voxels), and the demo
 * phantom. Each case runs once to warm up, then `RUNS` times; the median is reported.
 */
import { fileURLToPath } from 'node:url';

import { loadCase } from '../src/cli/case-input.js';
import { DEMO_GRID, demoCases, renderPhantom } from '../src/cli/demo/phantom.js';
import type { ImageVolume, MaskVolume } from '../src/imaging/volume.js';
import { analyseCase } from '../src/model/analyse.js';
import { BR_RO_CARD_PATH, loadModelCard } from '../src/model/card.js';

const RUNS = 5;
const SHARED = fileURLToPath(new URL('../../shared/data/', import.meta.url));
const NO_REFERENCES = { studyInstanceUid: null, seriesInstanceUid: null, segmentationInstanceUid: null };

export interface RadiomicsBenchRow {
  readonly name: string;
  readonly tumourVoxels: number;
  readonly periVoxels: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly heapUsedMb: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Runs the radiomics benchmark and returns one row per case. */
export async function benchRadiomics(): Promise<RadiomicsBenchRow[]> {
  const card = await loadModelCard(BR_RO_CARD_PATH);
  const cases: { name: string; image: ImageVolume; tumour: MaskVolume }[] = [];

  const brain1 = await loadCase(
    `${SHARED}radiomics/pyradiomics/brain1_image.nrrd`,
    `${SHARED}radiomics/pyradiomics/brain1_label.nrrd`,
    1,
  );
  cases.push({ name: 'brain1 (pyradiomics)', ...brain1 });
  const liver = await loadCase(
    `${SHARED}dicom/dcmqi/segmentations/ct-3slice`,
    `${SHARED}dicom/dcmqi/segmentations/liver.dcm`,
    1,
  );
  cases.push({ name: 'dcmqi CT + liver SEG', ...liver });
  cases.push({ name: 'demo phantom', ...renderPhantom(DEMO_GRID, demoCases(16).study) });

  const rows: RadiomicsBenchRow[] = [];
  for (const { name, image, tumour } of cases) {
    const durations: number[] = [];
    let result = analyseCase({ image, tumour, card, references: NO_REFERENCES });
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      result = analyseCase({ image, tumour, card, references: NO_REFERENCES });
      durations.push(performance.now() - started);
    }
    rows.push({
      name,
      tumourVoxels: result.provenance.tumourVoxelCount,
      periVoxels: result.provenance.periVoxelCount,
      medianMs: median(durations),
      minMs: Math.min(...durations),
      heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20,
    });
  }
  return rows;
}
