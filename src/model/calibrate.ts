/**
 * Site calibration: z-score scaling parameters computed from a site's own cases.
 *
 * For each feature f over n cases: μ_f = Σ x / n and the sample standard deviation
 * σ_f = sqrt(Σ (x − μ_f)² / (n − 1)). The sample form (n − 1) matches R's `scale()` and
 * scikit-learn's convention is the population form, so the card records which one it used.
 */
import { Nqo1Error } from '../errors.js';
import type { ModelCard, Scaling } from './card.js';

export interface CohortDescription {
  readonly description: string;
  readonly synthetic: boolean;
  /** ISO 8601 time of the calibration. */
  readonly createdAt: string;
}

/** Minimum number of cases for a scaling; fewer gives standard deviations too unstable to use. */
export const MIN_CALIBRATION_CASES = 10;

/**
 * Computes z-score parameters (mean and sample SD) for every feature of the card.
 *
 * @param rows - One record of feature values per case, keyed by the card's feature names.
 * @throws Nqo1Error ERR_CALIBRATION_COHORT when there are fewer than {@link MIN_CALIBRATION_CASES}
 *   cases, a value is missing or not finite, or a feature has zero spread.
 */
export function computeZScoreScaling(
  card: ModelCard,
  rows: readonly Readonly<Record<string, number>>[],
  cohort: CohortDescription,
): Scaling {
  if (rows.length < MIN_CALIBRATION_CASES) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `Calibration needs at least ${MIN_CALIBRATION_CASES} cases, got ${rows.length}. Add cases to the list.`,
    );
  }

  const parameters: Record<string, { mean: number; sd: number }> = {};
  for (const feature of card.features) {
    const values = rows.map((row, index) => {
      const value = row[feature.name];
      if (value === undefined || !Number.isFinite(value)) {
        throw new Nqo1Error(
          'ERR_CALIBRATION_COHORT',
          `Case ${index + 1} has no finite value for ${feature.name} (got ${String(value)}). Check that case's image and mask.`,
        );
      }
      return value;
    });

    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    const squares = values.reduce((sum, value) => sum + (value - mean) ** 2, 0);
    const sd = Math.sqrt(squares / (values.length - 1));
    if (!(sd > 0)) {
      throw new Nqo1Error(
        'ERR_CALIBRATION_COHORT',
        `Feature ${feature.name} has the same value (${mean}) in every case, so it cannot be scaled. Use a more varied cohort.`,
      );
    }
    parameters[feature.name] = { mean, sd };
  }

  return {
    method: 'z-score',
    sd: 'sample',
    parameters,
    cohort: { ...cohort, caseCount: rows.length },
  };
}

/**
 * Returns a copy of the card with the site scaling and a version that marks it as site-calibrated.
 * Limitations that only held until a site scaling existed are dropped.
 */
export function withSiteScaling(card: ModelCard, scaling: Scaling, siteVersion: string): ModelCard {
  return {
    ...card,
    version: `${card.version}+${siteVersion}`,
    scaling,
    limitations: card.limitations.filter((limitation) => limitation.until !== 'site-scaling'),
  };
}
