/**
 * Fits a card to a site's labelled cases, after its z-score scaling is known.
 *
 * - Site fit (card without coefficients, such as BR-RO whose per-feature coefficients are not
 *   published): logistic regression of the class on the z-scored features, as R's
 *   `glm(y ~ z_1 + … + z_k, family = binomial)`, gives the intercept and the coefficients.
 * - Recalibration (card with coefficients): logistic regression of the class on the card's linear
 *   predictor η, `glm(y ~ η, family = binomial)`, gives the calibration intercept a and slope b.
 *   The site's probability is then 1 / (1 + e^(−(a + b·η))).
 */
import { Nqo1Error } from '../errors.js';
import { fitLogistic, logisticRecalibration } from '../stats/logistic.js';
import { hasAllCoefficients, withoutRecalibration, type ModelCard } from './card.js';
import { scoreFeatures } from './score.js';

/** One labelled case: the card's features and the reference class (1 = positive). */
export interface LabelledCase {
  readonly features: Readonly<Record<string, number>>;
  readonly outcome: 0 | 1;
}

/** Events per variable below which a fit is reported as likely to overfit. */
export const MIN_EVENTS_PER_FEATURE = 10;

/** Checks that both classes are present, and returns the number of positive cases. */
function countClasses(cases: readonly LabelledCase[]): number {
  const positives = cases.filter((entry) => entry.outcome === 1).length;
  if (positives === 0 || positives === cases.length) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `All ${cases.length} labelled cases have nqo1 = ${positives === 0 ? 'low' : 'high'}; a logistic fit needs both classes. ` +
        'Add cases of the other class or leave the nqo1 column empty.',
    );
  }
  return positives;
}

/**
 * Returns the card with coefficients and intercept fitted on `cases`. The card must carry its
 * scaling. A fit whose smaller class has fewer than {@link MIN_EVENTS_PER_FEATURE} cases per
 * feature is likely to overfit; the caller warns about it.
 */
export function fitSiteCoefficients(
  card: ModelCard,
  cases: readonly LabelledCase[],
  createdAt: string,
): ModelCard {
  const scaling = card.scaling;
  if (scaling === null) throw new TypeError('fitSiteCoefficients needs a card with its scaling');
  const positives = countClasses(cases);

  const design = cases.map((entry) =>
    card.features.map((feature) => {
      const parameters = scaling.parameters[feature.name]!;
      return (entry.features[feature.name]! - parameters.mean) / parameters.sd;
    }),
  );
  const fit = fitLogistic(
    design,
    cases.map((entry) => entry.outcome),
    { intercept: true },
  );

  // The published performance describes the published coefficients, not these, and the limits that
  // held until coefficients existed no longer apply.
  return {
    ...card,
    performance: {},
    limitations: [
      {
        en: `The coefficients were fitted on ${cases.length} labelled cases of this site (${positives} high NQO1); the published performance figures do not apply to them.`,
        'zh-CN': `系数由本院 ${cases.length} 例有标签病例拟合（NQO1 高表达 ${positives} 例）；已发表的性能指标不适用于这些系数。`,
      },
      ...card.limitations.filter((limitation) => limitation.until !== 'site-coefficients'),
    ],
    intercept: fit.coefficients[0]!,
    features: card.features.map((feature, index) => ({
      ...feature,
      coefficient: fit.coefficients[index + 1]!,
    })),
    coefficientSource: { kind: 'site-fit', caseCount: cases.length, positiveCount: positives, createdAt },
  };
}

/** Returns the card with a logistic recalibration fitted on `cases`; the card must score them. */
export function recalibrateCard(
  card: ModelCard,
  cases: readonly LabelledCase[],
  createdAt: string,
): ModelCard {
  if (card.scaling === null || !hasAllCoefficients(card)) {
    throw new TypeError('recalibrateCard needs a card with scaling and coefficients');
  }
  const positives = countClasses(cases);
  const uncalibrated = withoutRecalibration(card);
  const probabilities = cases.map((entry) => scoreFeatures(uncalibrated, entry.features).probability!);
  const { intercept, slope } = logisticRecalibration(
    probabilities,
    cases.map((entry) => entry.outcome),
  );
  return {
    ...card,
    recalibration: { intercept, slope, caseCount: cases.length, positiveCount: positives, createdAt },
  };
}
