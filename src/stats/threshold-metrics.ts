/**
 * Classification metrics at one threshold, and the threshold that maximises Youden's index.
 *
 * With TP, FP, TN, FN the counts of true and false positive and negative calls among N cases:
 *   sensitivity = TP/(TP + FN),  specificity = TN/(TN + FP),  accuracy = (TP + TN)/N,
 *   PPV = TP/(TP + FP),  NPV = TN/(TN + FN),  Youden's J = sensitivity + specificity − 1.
 * PPV is NaN when no case is called positive and NPV is NaN when none is called negative (0/0), as
 * in R.
 */

import { validateBinaryOutcome } from './binary-outcome.js';
import { rocCurve } from './roc.js';
import { Nqo1Error } from '../errors.js';

/** Confusion counts and the metrics derived from them at one threshold. */
export interface ThresholdMetrics {
  /** A case is called positive when its probability or score is ≥ this threshold. */
  readonly threshold: number;
  readonly accuracy: number;
  readonly sensitivity: number;
  readonly specificity: number;
  /** Positive predictive value; NaN when no case is called positive. */
  readonly ppv: number;
  /** Negative predictive value; NaN when no case is called negative. */
  readonly npv: number;
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/** The Youden-optimal threshold with its metrics. */
export interface YoudenOptimum extends ThresholdMetrics {
  /** Youden's J = sensitivity + specificity − 1. pROC's "youden" column is J + 1. */
  readonly youdenIndex: number;
  /**
   * Every ROC threshold that reaches the same maximal J, in increasing order, as pROC's
   * `coords(..., "best")` returns them all; `threshold` is the first (lowest) of them.
   */
  readonly tiedThresholds: readonly number[];
}

/**
 * Confusion counts and metrics when a case is called positive at probability ≥ `threshold`. Matches
 * R `table(p >= threshold, y)` and the ratios above.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT for unequal lengths, non-finite values, labels other than
 *   0/1, a class without cases or a NaN threshold (±∞ are allowed: all or no case positive).
 */
export function metricsAtThreshold(
  probabilities: readonly number[],
  labels: readonly number[],
  threshold: number,
): ThresholdMetrics {
  validateBinaryOutcome(probabilities, labels, 'probability');
  if (Number.isNaN(threshold)) {
    throw new Nqo1Error('ERR_CALIBRATION_COHORT', 'The threshold is NaN. Give a number, for example 0.404.');
  }

  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const calledPositive = probabilities[i]! >= threshold;
    if (labels[i] === 1) {
      if (calledPositive) tp++;
      else fn++;
    } else if (calledPositive) fp++;
    else tn++;
  }

  return {
    threshold,
    accuracy: (tp + tn) / probabilities.length,
    sensitivity: tp / (tp + fn),
    specificity: tn / (tn + fp),
    ppv: tp / (tp + fp),
    npv: tn / (tn + fn),
    tp,
    fp,
    tn,
    fn,
  };
}

/**
 * Finds the ROC threshold that maximises Youden's J, as pROC's `coords(roc, "best",
 * best.method = "youden")` finds it for `roc(labels, scores, levels = c(0, 1), direction = "<")`:
 * the candidates are the thresholds of {@link rocCurve} (midpoints between distinct scores and ±∞)
 * and a case is positive at score ≥ threshold.
 *
 * Ties: pROC keeps every threshold whose sensitivity + specificity equals the maximum exactly (in
 * floating point) and returns them all in increasing threshold order. This function returns the
 * first of them, the lowest threshold, which has the highest sensitivity among the tied points, and
 * lists all of them in `tiedThresholds`.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT for invalid input (see {@link rocCurve}).
 */
export function youdenOptimum(scores: readonly number[], labels: readonly number[]): YoudenOptimum {
  const points = rocCurve(scores, labels);

  // pROC's criterion is sensitivity + r·specificity with r = (1 − 0.5)/(1 · 0.5) = 1 by default.
  const criteria = points.map((point) => point.sensitivity + point.specificity);
  const best = criteria.reduce((max, value) => Math.max(max, value), -Infinity);
  const tiedThresholds = points.filter((_, k) => criteria[k] === best).map((point) => point.threshold);

  const threshold = tiedThresholds[0]!;
  const metrics = metricsAtThreshold(scores, labels, threshold);
  return { ...metrics, youdenIndex: best - 1, tiedThresholds };
}
