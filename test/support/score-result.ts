/**
 * Factory for {@link ScoreResult} values in tests of the edges (FHIR, jobs), which need a result
 * of realistic shape but not one computed from images.
 */
import type { ScoreResult } from '../../src/model/result.js';

/** Six BR-RO feature values of plausible magnitude, invented for tests. */
export const SAMPLE_FEATURES: Readonly<Record<string, number>> = {
  Whole_glszm_SmallAreaEmphasis: 0.61,
  Whole_ngtdm_Coarseness: 0.0042,
  Whole_peri_glrlm_RunLengthNonUniformity: 1520.5,
  Whole_peri_ngtdm_Coarseness: 0.0011,
  Whole_peri_firstorder_TotalEnergy: 3.2e9,
  Whole_peri_glszm_SmallAreaLowGrayLevelEmphasis: 0.0078,
};

/** Builds a calibrated result predicting high NQO1 expression; override any field. */
export function calibratedResult(overrides: Partial<ScoreResult> = {}): ScoreResult {
  return {
    model: { id: 'br-ro', version: '1.0.0-site' },
    features: SAMPLE_FEATURES,
    calibrated: true,
    probability: 0.81,
    probabilityUnavailableReason: null,
    threshold: 0.404,
    class: 'high',
    linearPredictor: 1.45,
    contributions: Object.fromEntries(Object.keys(SAMPLE_FEATURES).map((name) => [name, 0.25])),
    provenance: {
      studyInstanceUid: '1.2.3.4',
      seriesInstanceUid: '1.2.3.4.5',
      segmentationInstanceUid: '1.2.3.4.6.1',
      spacingMm: [0.81, 0.81, 1],
      tumourVoxelCount: 1200,
      periVoxelCount: 2600,
      dilationMm: 3,
      settings: { binWidth: 25 },
      engineVersion: '0.1.0',
      computedAt: '2026-12-04T20:00:00.000Z',
    },
    ...overrides,
  };
}

/** Builds an uncalibrated result: features only, no probability; override any field. */
export function uncalibratedResult(overrides: Partial<ScoreResult> = {}): ScoreResult {
  return calibratedResult({
    model: { id: 'br-ro', version: '1.0.0' },
    calibrated: false,
    probability: null,
    probabilityUnavailableReason: 'uncalibrated',
    class: null,
    linearPredictor: null,
    contributions: null,
    ...overrides,
  });
}
