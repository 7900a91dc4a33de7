/**
 * The whole BR-RO model path on the generated 40 mm sphere: `analyseCase` with the BR-RO card, which
 * crops the case, dilates the tumour by 3 mm, computes the six features on both regions and scores
 * them. The figure is the median of 5 runs after one warm-up run.
 */
import { analyseCase } from '../src/model/analyse.js';
import { BR_RO_CARD_PATH, loadModelCard } from '../src/model/card.js';
import type { ScoreResult } from '../src/model/result.js';
import { timeMedian } from './radiomics-classes.js';
import { ctSphereCase } from './shape.js';

export interface ModelPathBenchRow {
  readonly tumourVoxels: number;
  readonly periVoxels: number;
  /** Median wall time of one `analyseCase` call, ms. */
  readonly medianMs: number;
}

/** Times `analyseCase` with the BR-RO card on the sphere case. */
export async function benchModelPath(): Promise<ModelPathBenchRow> {
  const card = await loadModelCard(BR_RO_CARD_PATH);
  const { image, mask } = ctSphereCase();
  const references = { studyInstanceUid: null, seriesInstanceUid: null, segmentationInstanceUid: null };
  let result: ScoreResult | undefined;
  const medianMs = timeMedian(() => {
    result = analyseCase({ image, tumour: mask, card, references });
  });
  return {
    tumourVoxels: result?.provenance.tumourVoxelCount ?? 0,
    periVoxels: result?.provenance.periVoxelCount ?? 0,
    medianMs,
  };
}
