/**
 * Decision curve analysis (Vickers & Elkin, Med Decis Making 2006;26:565–574): the net benefit of
 * acting on the model at each threshold probability pt, against acting on every case and on none.
 *
 *   NB_model(pt)     = TP/N − FP/N · pt/(1 − pt),   a case is treated when its probability ≥ pt,
 *   NB_treatAll(pt)  = π − (1 − π) · pt/(1 − pt),   π = prevalence of label 1,
 *   NB_treatNone(pt) = 0.
 *
 * The odds pt/(1 − pt) weigh a false positive against a true positive, as a clinician does who is
 * indifferent between acting and waiting at risk pt. No R package is used for the reference; the
 * test compares with the same formulas written in base R.
 */

import { validateBinaryOutcome, validateProbabilities } from './binary-outcome.js';
import { Nqo1Error } from '../errors.js';

/** Net benefits at one threshold probability. */
export interface DecisionCurveRow {
  readonly threshold: number;
  readonly netBenefitModel: number;
  readonly netBenefitTreatAll: number;
  readonly netBenefitTreatNone: 0;
}

/** The default thresholds k/100 for k = 1 … 99. */
export const DEFAULT_DECISION_THRESHOLDS: readonly number[] = Array.from(
  { length: 99 },
  (_, k) => (k + 1) / 100,
);

/**
 * Net benefit of the model, of treating all and of treating none at each threshold.
 *
 * @param thresholds - threshold probabilities, each strictly between 0 and 1; default
 *   {@link DEFAULT_DECISION_THRESHOLDS} (0.01 … 0.99 in steps of 0.01, computed as k/100).
 * @throws Nqo1Error ERR_CALIBRATION_COHORT for invalid input, probabilities outside [0, 1] or a
 *   threshold outside (0, 1).
 */
export function decisionCurve(
  probabilities: readonly number[],
  labels: readonly number[],
  thresholds: readonly number[] = DEFAULT_DECISION_THRESHOLDS,
): DecisionCurveRow[] {
  const { positives } = validateBinaryOutcome(probabilities, labels, 'probability');
  validateProbabilities(probabilities);
  for (const threshold of thresholds) {
    if (!(threshold > 0 && threshold < 1)) {
      throw new Nqo1Error(
        'ERR_CALIBRATION_COHORT',
        `The decision threshold ${threshold} lies outside (0, 1), where the odds pt/(1 − pt) are undefined. Give thresholds such as 0.01 to 0.99.`,
      );
    }
  }

  const n = probabilities.length;
  const prevalence = positives / n;
  return thresholds.map((threshold) => {
    let truePositives = 0;
    let falsePositives = 0;
    for (let i = 0; i < n; i++) {
      if (probabilities[i]! < threshold) continue;
      if (labels[i] === 1) truePositives++;
      else falsePositives++;
    }
    const odds = threshold / (1 - threshold);
    return {
      threshold,
      netBenefitModel: truePositives / n - (falsePositives / n) * odds,
      netBenefitTreatAll: prevalence - (1 - prevalence) * odds,
      netBenefitTreatNone: 0,
    };
  });
}
