/**
 * The modelling pipeline of He et al. (PLoS ONE 2023) on a site's labelled cohort, for researchers: every pyradiomics
 * feature on the tumour and on the peritumoral region as candidates, mRMR ranking to the best
 * `candidates`, recursive feature elimination to `keep`, then an unpenalised logistic regression on
 * the z-scored kept features. The result is a new model card with its own scaling, coefficients and
 * a threshold at the Youden optimum of the fitted probabilities.
 */
import { Nqo1Error } from '../errors.js';
import { FEATURE_REGISTRY } from '../radiomics/registry.js';
import { fitLogistic } from '../stats/logistic.js';
import { mrmrRanking } from '../stats/mrmr.js';
import { recursiveFeatureElimination } from '../stats/rfe.js';
import { describeDistribution } from '../stats/summary.js';
import { youdenOptimum } from '../stats/threshold-metrics.js';
import { withoutRecalibration, type FeatureSpec, type ModelCard } from './card.js';
import { logistic } from './score.js';

/** Model name of a candidate: region, class and feature, e.g. `peri_ngtdm_Coarseness`. */
function candidateName(region: FeatureSpec['region'], pyradiomicsName: string): string {
  return `${region}_${pyradiomicsName.replace(/^original_/, '')}`;
}

/**
 * Returns a card computing every registered feature on both regions with the base card's settings and
 * region, used to extract the candidates. It gives no probability.
 */
export function candidateCard(base: ModelCard): ModelCard {
  const features: FeatureSpec[] = (['tumour', 'peri'] as const).flatMap((region) =>
    [...FEATURE_REGISTRY.keys()].map((pyradiomicsName) => ({
      name: candidateName(region, pyradiomicsName),
      region,
      pyradiomicsName,
      coefficient: null,
    })),
  );
  return { ...base, id: `${base.id}-candidates`, features, scaling: null };
}

export interface RefitOptions {
  /** Features kept after mRMR. */
  readonly candidates: number;
  /** Features in the final model. */
  readonly keep: number;
  readonly createdAt: string;
  readonly cohortDescription: string;
}

export interface RefitResult {
  readonly card: ModelCard;
  /** Candidate names in mRMR order, then the names RFE dropped in order. */
  readonly mrmrOrder: readonly string[];
  readonly eliminated: readonly string[];
}

/**
 * Selects and fits a model on `rows` (candidate features keyed by candidate name, one per case)
 * and `labels` (1 = high NQO1).
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT when the cohort is too small for `keep` features, has one
 *   class only, or the final fit separates the classes.
 */
export function refitModel(
  base: ModelCard,
  rows: readonly Readonly<Record<string, number>>[],
  labels: readonly (0 | 1)[],
  options: RefitOptions,
): RefitResult {
  const names = candidateCard(base).features.map((feature) => feature.name);
  const positives = labels.filter((label) => label === 1).length;
  const smaller = Math.min(positives, labels.length - positives);
  if (smaller < options.keep + 1) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `A refit to ${options.keep} features needs more than ${options.keep} cases of each class; the smaller class has ${smaller}. ` +
        'Add labelled cases or lower --keep.',
    );
  }

  // Keep the candidates that are finite in every case, because a feature undefined somewhere cannot
  // enter a model. Of candidates with identical values in every case keep only the first, because a
  // model cannot tell them apart. The tumour's maximum intensity, for example, is often its dilation's.
  const seen = new Set<string>();
  const usable = names.filter((name) => {
    if (!rows.every((row) => Number.isFinite(row[name]))) return false;
    const key = rows.map((row) => row[name]).join(',');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (options.candidates > usable.length) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `--candidates ${options.candidates} is more than the ${usable.length} distinct candidate features of this cohort. Use at most ${usable.length}.`,
    );
  }
  const matrix = rows.map((row) => usable.map((name) => row[name]!));
  const ranking = mrmrRanking(matrix, labels, options.candidates);
  const ranked = ranking.map((pick) => pick.column);
  const { kept, steps } = recursiveFeatureElimination(matrix, labels, ranked, options.keep);

  // Final fit on the z-scored kept features, with the cohort's mean and sample SD.
  const parameters: Record<string, { mean: number; sd: number }> = {};
  const distribution: Record<string, ReturnType<typeof describeDistribution>> = {};
  for (const column of kept) {
    const values = matrix.map((row) => row[column]!);
    const summary = describeDistribution(values);
    parameters[usable[column]!] = { mean: summary.mean, sd: summary.sd };
    distribution[usable[column]!] = summary;
  }
  const design = matrix.map((row) =>
    kept.map(
      (column) => (row[column]! - parameters[usable[column]!]!.mean) / parameters[usable[column]!]!.sd,
    ),
  );
  let fit;
  try {
    fit = fitLogistic(design, labels, { intercept: true });
  } catch (error) {
    if (!(error instanceof Nqo1Error)) throw error;
    throw new Nqo1Error(
      error.code,
      `The final fit on ${kept.map((column) => usable[column]).join(', ')} failed: ${error.message}`,
      { cause: error },
    );
  }
  const probabilities = design.map((row) =>
    logistic(
      row.reduce((eta, value, index) => eta + fit.coefficients[index + 1]! * value, fit.coefficients[0]!),
    ),
  );
  const threshold = youdenOptimum(probabilities, labels).threshold;

  const candidateFeatures = candidateCard(base).features;
  const features: FeatureSpec[] = kept.map((column, index) => ({
    ...candidateFeatures.find((feature) => feature.name === usable[column])!,
    coefficient: fit.coefficients[index + 1]!,
  }));
  const selection = `mRMR top ${ranked.length} of ${usable.length} candidates, then RFE to ${kept.length}`;
  const card: ModelCard = {
    ...base,
    id: `${base.id}-refit`,
    version: `1.0.0+refit.${options.createdAt.slice(0, 16).replace(/[-:]/g, '')}Z`,
    title: {
      en: `${base.title.en} (refit on a site cohort)`,
      'zh-CN': `${base.title['zh-CN']}（基于本院队列重新建模）`,
    },
    intendedUse: {
      en: 'Research use only: a model refitted on one cohort, not validated on other patients.',
      'zh-CN': '仅供科研使用：在单一队列上重新拟合的模型，未在其他患者中验证。',
    },
    limitations: [
      {
        en: `Selected and fitted on the same ${labels.length} cases (${positives} high NQO1); its apparent performance on them is optimistic.`,
        'zh-CN': `特征选择与拟合使用同一组 ${labels.length} 例（NQO1 高表达 ${positives} 例）；在这些病例上的表现偏乐观。`,
      },
      ...base.limitations.filter((limitation) => limitation.until === undefined),
    ],
    features,
    intercept: fit.coefficients[0]!,
    coefficientSource: {
      kind: 'refit',
      caseCount: labels.length,
      positiveCount: positives,
      selection,
      createdAt: options.createdAt,
    },
    // The threshold must lie strictly between 0 and 1 for the card schema.
    threshold: Math.min(Math.max(threshold, 1e-6), 1 - 1e-6),
    scaling: {
      method: 'z-score',
      sd: 'sample',
      parameters,
      cohort: {
        description: options.cohortDescription,
        caseCount: labels.length,
        createdAt: options.createdAt,
        synthetic: false,
      },
      distribution,
    },
    performance: {},
    evidence: [],
  };
  return {
    card: withoutRecalibration(card),
    mrmrOrder: ranked.map((column) => usable[column]!),
    eliminated: steps.map((step) => usable[step.dropped]!),
  };
}
