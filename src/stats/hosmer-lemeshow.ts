/**
 * Hosmer–Lemeshow goodness-of-fit test and the grouped calibration curve it rests on, computed as
 * ResourceSelection::hoslem.test (0.3-5) computes it in R:
 *
 *   breaks = unique(quantile(p, probs = seq(0, 1, 1/g)))          (type-7 quantiles)
 *   group  = cut(p, breaks, include.lowest = TRUE)                (intervals (a, b], the first [a, b])
 *   Ĉ = Σ_groups [ (O₁ − E₁)²/E₁ + (O₀ − E₀)²/E₀ ],
 *     O₁ = Σ y, E₁ = Σ p, O₀ = Σ (1 − y), E₀ = Σ (1 − p) over the cases of the group,
 *   p-value = Pr(χ²_{g−2} > Ĉ).
 *
 * The degrees of freedom stay g − 2 for the requested g even when tied quantiles merge groups, as in
 * hoslem.test. Per group, the mean predicted probability E₁/count against the observed rate
 * O₁/count is the calibration curve.
 */

import { validateBinaryOutcome, validateProbabilities } from './binary-outcome.js';
import { chiSquareSurvival } from './distributions.js';
import { equalStepProbabilities, quantileType7 } from './quantile.js';
import { Nqo1Error } from '../errors.js';

/** One risk group of the test: the cases whose probability lies in (lower, upper]. */
export interface CalibrationGroup {
  /** Lower break; the first group also contains probabilities equal to it. */
  readonly lower: number;
  /** Upper break, included in the group. */
  readonly upper: number;
  /** Number of cases in the group. */
  readonly count: number;
  /** Observed positives O₁. */
  readonly observed: number;
  /** Expected positives E₁, the sum of the predicted probabilities. */
  readonly expected: number;
  /** E₁ / count. */
  readonly meanPredicted: number;
  /** O₁ / count. */
  readonly observedRate: number;
}

/** Result of the Hosmer–Lemeshow test. */
export interface HosmerLemeshowResult {
  /** Ĉ. */
  readonly statistic: number;
  /** g − 2 for the requested number of groups g. */
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  /** The groups in increasing order of probability; fewer than g when quantiles tie. */
  readonly groups: readonly CalibrationGroup[];
}

function cohortError(message: string): Nqo1Error {
  return new Nqo1Error('ERR_CALIBRATION_COHORT', message);
}

/** Index of the group of `value`: the k with breaks[k] < value ≤ breaks[k + 1] (k = 0 also at breaks[0]). */
function groupIndex(breaks: readonly number[], value: number): number {
  let low = 0;
  let high = breaks.length - 1;
  while (high - low >= 2) {
    const mid = (low + high) >>> 1;
    if (value > breaks[mid]!) low = mid;
    else high = mid;
  }
  return low;
}

/**
 * Hosmer–Lemeshow test of `probabilities` (predicted Pr(label = 1)) against `labels` with `groups`
 * quantile groups (default 10).
 *
 * Deviation from R: a group can be empty, when two breaks are interpolated between the same pair of
 * tied probabilities, or have an expected count of 0. hoslem.test then returns NaN or Inf, but this
 * function throws, naming the group and suggesting fewer groups.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT for invalid input, probabilities outside [0, 1], fewer
 *   than 3 groups, a cohort whose probabilities are all equal, an empty group or a zero expected count.
 */
export function hosmerLemeshow(
  probabilities: readonly number[],
  labels: readonly number[],
  groups = 10,
): HosmerLemeshowResult {
  validateBinaryOutcome(probabilities, labels, 'probability');
  validateProbabilities(probabilities);
  if (!Number.isInteger(groups) || groups < 3) {
    throw cohortError(
      `The Hosmer-Lemeshow test needs an integer number of groups of at least 3 (degrees of freedom g − 2), got ${groups}. Use 10.`,
    );
  }

  const quantiles = quantileType7(probabilities, equalStepProbabilities(groups));
  const breaks = [...new Set(quantiles)].sort((a, b) => a - b);
  if (breaks.length < 2) {
    throw cohortError(
      `All ${probabilities.length} probabilities equal ${breaks[0]}, so they cannot be split into risk groups. Check that the model output varies between cases.`,
    );
  }

  const groupCount = breaks.length - 1;
  const count = new Array<number>(groupCount).fill(0);
  const observedPositive = new Array<number>(groupCount).fill(0);
  const observedNegative = new Array<number>(groupCount).fill(0);
  const expectedPositive = new Array<number>(groupCount).fill(0);
  const expectedNegative = new Array<number>(groupCount).fill(0);
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    const y = labels[i]!;
    const k = groupIndex(breaks, p);
    count[k]!++;
    observedPositive[k]! += y;
    observedNegative[k]! += 1 - y;
    expectedPositive[k]! += p;
    expectedNegative[k]! += 1 - p;
  }

  let statistic = 0;
  const result: CalibrationGroup[] = [];
  for (let k = 0; k < groupCount; k++) {
    const lower = breaks[k]!;
    const upper = breaks[k + 1]!;
    const interval = `${k === 0 ? '[' : '('}${lower}, ${upper}]`;
    if (count[k] === 0) {
      throw cohortError(
        `Risk group ${k + 1} of ${groupCount}, probabilities in ${interval}, contains no case: ${probabilities.length} cases ` +
          `${probabilities.length < 2 * groups ? 'are too few' : 'have too many tied probabilities'} for ${groups} quantile groups. Use fewer groups or more cases.`,
      );
    }
    if (expectedPositive[k] === 0 || expectedNegative[k] === 0) {
      throw cohortError(
        `Risk group ${k + 1}, probabilities in ${interval}, has an expected count of 0, so the Hosmer-Lemeshow statistic is undefined. Use fewer groups than ${groups}, or check probabilities of exactly 0 or 1.`,
      );
    }
    const o1 = observedPositive[k]!;
    const o0 = observedNegative[k]!;
    const e1 = expectedPositive[k]!;
    const e0 = expectedNegative[k]!;
    statistic += ((o1 - e1) * (o1 - e1)) / e1 + ((o0 - e0) * (o0 - e0)) / e0;
    result.push({
      lower,
      upper,
      count: count[k]!,
      observed: o1,
      expected: e1,
      meanPredicted: e1 / count[k]!,
      observedRate: o1 / count[k]!,
    });
  }

  const degreesOfFreedom = groups - 2;
  return {
    statistic,
    degreesOfFreedom,
    pValue: chiSquareSurvival(statistic, degreesOfFreedom),
    groups: result,
  };
}
