/**
 * Receiver operating characteristic (ROC) curve, area under it (AUC) with DeLong's variance and
 * confidence interval, and DeLong's test of two correlated AUCs. The functions match pROC 1.18.0
 * in R with `roc(labels, scores, levels = c(0, 1), direction = "<")`. Label 0 marks the controls
 * and label 1 the cases (high NQO1), and higher scores point to a case.
 *
 * DeLong, DeLong & Clarke-Pearson (Biometrics 1988;44:837–845) write the AUC as a mean of placement
 * values (structural components). With m cases X_i and n controls Y_j, and
 * ψ(x, y) = 1 if x > y, 1/2 if x = y, 0 if x < y:
 *   V10(X_i) = (1/n) Σ_j ψ(X_i, Y_j)    the share of controls that case i outranks,
 *   V01(Y_j) = (1/m) Σ_i ψ(X_i, Y_j)    the share of cases that outrank control j,
 *   AUC θ = (1/m) Σ_i V10(X_i) = (1/n) Σ_j V01(Y_j)   (the Mann–Whitney statistic),
 *   Var(θ) = S10/m + S01/n,  S10 = Σ_i (V10(X_i) − θ)² / (m − 1),  S01 = Σ_j (V01(Y_j) − θ)² / (n − 1).
 * Ties between a case and a control count one half, so θ equals the trapezoidal area under the
 * empirical ROC curve that pROC reports.
 */

import { validateBinaryOutcome } from './binary-outcome.js';
import { normalQuantile, normalTwoSidedP } from './distributions.js';
import { Nqo1Error } from '../errors.js';

/** One point of the empirical ROC curve. */
export interface RocPoint {
  /** A case is called positive when its score is ≥ this threshold. */
  readonly threshold: number;
  /** True positive rate: positive calls among cases (label 1). */
  readonly sensitivity: number;
  /** True negative rate: negative calls among controls (label 0). */
  readonly specificity: number;
}

/** A confidence interval and its confidence level (0.95 for 95 %). */
export interface ConfidenceInterval {
  readonly lower: number;
  readonly upper: number;
  readonly level: number;
}

/** AUC with DeLong's variance and confidence interval. */
export interface AucEstimate {
  readonly auc: number;
  /** DeLong variance of the AUC estimate, S10/m + S01/n. */
  readonly variance: number;
  /** θ ± z(1 − (1 − level)/2)·√variance, clipped to [0, 1] as pROC clips it. */
  readonly ci: ConfidenceInterval;
}

/** DeLong's test of two AUCs measured on the same cases. */
export interface DeLongTestResult {
  readonly aucA: number;
  readonly aucB: number;
  /** aucA − aucB. */
  readonly difference: number;
  /** Interval for the difference, d ± z·σ, not clipped. */
  readonly differenceCi: ConfidenceInterval;
  /** d / σ with σ² = Var(θA) + Var(θB) − 2 Cov(θA, θB); 0 when both d and σ are 0, as in pROC. */
  readonly z: number;
  /** Two-sided p-value, 2·Φ(−|z|). */
  readonly pValue: number;
}

/**
 * Midpoint of two adjacent sorted scores as pROC computes it: (a + b)/2, or a/2 + b/2 when the sum
 * would exceed 1e100 in magnitude, so that huge scores do not overflow.
 */
function midpoint(a: number, b: number): number {
  const direct = (a + b) / 2;
  return Math.abs(direct) > 1e100 ? a / 2 + b / 2 : direct;
}

/**
 * Thresholds of the ROC curve as pROC's `roc.utils.thresholds` builds them for direction "<":
 * −∞, the midpoints between consecutive distinct sorted scores, and +∞. The midpoint of two
 * adjacent doubles rounds onto one of them. When it lands on the lower score it is moved to the
 * upper one, so that "score ≥ threshold" still separates the two.
 */
export function rocThresholds(scores: readonly number[]): number[] {
  const distinct = [...new Set(scores)].sort((a, b) => a - b);
  const thresholds = [-Infinity];
  for (let k = 1; k < distinct.length; k++) {
    const lower = distinct[k - 1]!;
    const upper = distinct[k]!;
    const middle = midpoint(lower, upper);
    thresholds.push(middle === lower ? upper : middle);
  }
  thresholds.push(Infinity);
  return thresholds;
}

/**
 * Empirical ROC curve: one point per threshold of {@link rocThresholds}, in increasing threshold
 * order (from sensitivity 1, specificity 0 at −∞ to sensitivity 0, specificity 1 at +∞). A case is
 * called positive when its score is ≥ the threshold, as pROC does for direction "<".
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT for unequal lengths, non-finite scores, labels other than
 *   0/1, or a class without cases.
 */
export function rocCurve(scores: readonly number[], labels: readonly number[]): RocPoint[] {
  const { positives, negatives } = validateBinaryOutcome(scores, labels, 'score');
  const thresholds = rocThresholds(scores);

  // Walk the cases from the highest score down; lowering the threshold past a group of tied scores
  // turns all of them positive at once.
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const points: RocPoint[] = [];
  let truePositives = 0;
  let falsePositives = 0;
  let next = 0;
  for (let t = thresholds.length - 1; t >= 0; t--) {
    const threshold = thresholds[t]!;
    while (next < order.length && scores[order[next]!]! >= threshold) {
      if (labels[order[next]!] === 1) truePositives++;
      else falsePositives++;
      next++;
    }
    points.push({
      threshold,
      sensitivity: truePositives / positives,
      specificity: (negatives - falsePositives) / negatives,
    });
  }
  return points.reverse();
}

/** Number of entries of the ascending `sorted` that are < `value`. */
function countBelow(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Number of entries of the ascending `sorted` that are ≤ `value`. */
function countAtOrBelow(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** DeLong placement values of one score column: V10 per case, V01 per control, and θ. */
interface Placements {
  readonly cases: number[];
  readonly controls: number[];
  readonly theta: number;
}

/** Computes the placement values by binary search in the sorted scores of the other class: O(N log N). */
function placements(scores: readonly number[], labels: readonly number[]): Placements {
  const caseScores = scores.filter((_, i) => labels[i] === 1);
  const controlScores = scores.filter((_, i) => labels[i] === 0);
  const sortedCases = [...caseScores].sort((a, b) => a - b);
  const sortedControls = [...controlScores].sort((a, b) => a - b);
  const m = caseScores.length;
  const n = controlScores.length;

  const cases = caseScores.map((x) => {
    const below = countBelow(sortedControls, x);
    const tied = countAtOrBelow(sortedControls, x) - below;
    return (below + tied / 2) / n;
  });
  const controls = controlScores.map((y) => {
    const above = m - countAtOrBelow(sortedCases, y);
    const tied = m - countBelow(sortedCases, y) - above;
    return (above + tied / 2) / m;
  });
  const theta = cases.reduce((sum, v) => sum + v, 0) / m;
  return { cases, controls, theta };
}

/** Σ (a_k − meanA)(b_k − meanB) / (length − 1). */
function sampleCovariance(a: readonly number[], meanA: number, b: readonly number[], meanB: number): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += (a[k]! - meanA) * (b[k]! - meanB);
  return sum / (a.length - 1);
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `The confidence level is ${level}; it must lie strictly between 0 and 1, for example 0.95.`,
    );
  }
}

/**
 * AUC with DeLong's variance and a normal confidence interval, as pROC's
 * `ci.auc(roc, conf.level = level, method = "delong")` and `var(roc, method = "delong")` compute
 * them. The interval is θ ± z·√Var(θ) with z = Φ⁻¹(1 − (1 − level)/2), clipped to [0, 1]; it
 * describes the sampling uncertainty of the AUC in a population like this cohort, and is
 * degenerate (width 0) when the classes do not overlap (AUC 1 or 0).
 *
 * @param level - confidence level, default 0.95.
 * @throws Nqo1Error ERR_CALIBRATION_COHORT for invalid input or fewer than 2 cases in a class (the
 *   variance divides by m − 1 and n − 1; pROC returns NA there).
 */
export function aucDeLong(scores: readonly number[], labels: readonly number[], level = 0.95): AucEstimate {
  checkLevel(level);
  validateBinaryOutcome(scores, labels, 'score', 2);
  const v = placements(scores, labels);

  const s10 = sampleCovariance(v.cases, v.theta, v.cases, v.theta);
  const s01 = sampleCovariance(v.controls, v.theta, v.controls, v.theta);
  const variance = s10 / v.cases.length + s01 / v.controls.length;

  const halfWidth = normalQuantile(1 - (1 - level) / 2) * Math.sqrt(variance);
  return {
    auc: v.theta,
    variance,
    ci: {
      lower: Math.max(0, v.theta - halfWidth),
      upper: Math.min(1, v.theta + halfWidth),
      level,
    },
  };
}

/**
 * DeLong's test for two correlated ROC curves (two scores of the same cases), as pROC's
 * `roc.test(rocA, rocB, method = "delong", paired = TRUE)`: with the 2×2 covariance
 * S = S10/m + S01/n of the placement values of both scores, σ² = S_AA + S_BB − 2·S_AB,
 * z = (θA − θB)/σ and p = 2·Φ(−|z|). Also returns the interval (θA − θB) ± z(level)·σ that
 * roc.test reports as `conf.int`.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT for invalid input, score columns of different lengths or
 *   fewer than 2 cases in a class.
 */
export function deLongTest(
  scoresA: readonly number[],
  scoresB: readonly number[],
  labels: readonly number[],
  level = 0.95,
): DeLongTestResult {
  checkLevel(level);
  if (scoresA.length !== scoresB.length) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `The two score columns have ${scoresA.length} and ${scoresB.length} values. The paired test needs both scores for every case.`,
    );
  }
  validateBinaryOutcome(scoresA, labels, 'first score', 2);
  validateBinaryOutcome(scoresB, labels, 'second score', 2);
  const a = placements(scoresA, labels);
  const b = placements(scoresB, labels);
  const m = a.cases.length;
  const n = a.controls.length;

  const covariance = (first: Placements, second: Placements): number =>
    sampleCovariance(first.cases, first.theta, second.cases, second.theta) / m +
    sampleCovariance(first.controls, first.theta, second.controls, second.theta) / n;
  const sigma = Math.sqrt(covariance(a, a) - covariance(a, b) - covariance(b, a) + covariance(b, b));

  const difference = a.theta - b.theta;
  const z = difference === 0 && sigma === 0 ? 0 : difference / sigma;
  const critical = normalQuantile(1 - (1 - level) / 2);
  return {
    aucA: a.theta,
    aucB: b.theta,
    difference,
    differenceCi: { lower: difference - critical * sigma, upper: difference + critical * sigma, level },
    z,
    pValue: normalTwoSidedP(z),
  };
}
