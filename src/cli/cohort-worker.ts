/**
 * One cohort case in a child process of `calibrate --cohort`, `evaluate` and `refit`: reads the
 * image and mask and computes the card's features on the tumour and peritumoral regions.
 */
import { describeError } from '../errors.js';
import { analyseCase } from '../model/analyse.js';
import type { ModelCard } from '../model/card.js';
import { loadCase, parseSegmentOption } from './case-input.js';
import { serveChildJobs } from './child-pool.js';

/** What to read and which card's features to compute. */
export interface CohortRequest {
  readonly image: string;
  readonly mask: string;
  readonly segment: string;
  /** Label of the tumour in a label map; the card's label when null. */
  readonly label: number | null;
  readonly card: ModelCard;
}

/** Features keyed by the card's feature names, or the error of the case. */
export type CohortOutcome =
  | {
      readonly ok: true;
      readonly features: Readonly<Record<string, number>>;
      readonly tumourVoxelCount: number;
      readonly periVoxelCount: number;
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly code: string; readonly message: string };

const NO_REFERENCES = { studyInstanceUid: null, seriesInstanceUid: null, segmentationInstanceUid: null };

/** Computes one case without throwing. */
export async function runCohortCase(request: CohortRequest): Promise<CohortOutcome> {
  try {
    const loaded = await loadCase(
      request.image,
      request.mask,
      request.label ?? request.card.extraction.label ?? 1,
      parseSegmentOption(request.segment),
    );
    const result = analyseCase({ ...loaded, card: request.card, references: NO_REFERENCES });
    return {
      ok: true,
      features: result.features,
      tumourVoxelCount: result.provenance.tumourVoxelCount,
      periVoxelCount: result.provenance.periVoxelCount,
      warnings: result.provenance.warnings ?? [],
    };
  } catch (error) {
    const { code, message } = describeError(error);
    return { ok: false, code, message };
  }
}

serveChildJobs(import.meta.url, runCohortCase);
