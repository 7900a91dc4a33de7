/**
 * Log-rank test of equal survival in k ≥ 2 groups, matching R
 * `survdiff(Surv(time, event) ~ group)` with `rho = 0` (survival 3.5.3).
 *
 * At each distinct event time t_j with n_j cases at risk, d_j events, and n_gj at risk in group g:
 *   O_g = Σ_j d_gj                     (observed events)
 *   E_g = Σ_j d_j n_gj / n_j           (expected events under equal hazards)
 *   V_gh = Σ_{j: n_j > 1} d_j (n_j − d_j) / (n_j − 1) · (n_gj / n_j) (δ_gh − n_hj / n_j)
 * The statistic is χ² = (O − E)ᵀ V⁻¹ (O − E) over the groups with E_g > 0, leaving out the first of
 * them (V is singular because its rows sum to zero), with df = (number of groups with E_g > 0) − 1.
 * The p-value is the chi-square upper tail. For two groups χ² = (O₁ − E₁)² / V₁₁.
 */
import { Nqo1Error } from '../errors.js';
import { chiSquareSurvival } from './distributions.js';
import { validateGroups, validateSurvivalData } from './survival-input.js';
import { choleskyFactor, choleskySolve } from './symmetric-matrix.js';

export interface LogRankGroup {
  readonly group: string;
  /** Number of cases in the group. */
  readonly n: number;
  readonly observed: number;
  readonly expected: number;
}

export interface LogRankResult {
  /** Chi-square statistic (`survdiff()$chisq`). */
  readonly statistic: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  /** Groups in sorted label order. */
  readonly groups: readonly LogRankGroup[];
  /** Variance matrix V of O − E, rows and columns in the order of `groups` (`survdiff()$var`). */
  readonly variance: readonly (readonly number[])[];
}

/**
 * Compares the survival of two or more groups with the log-rank test.
 *
 * @param times - Follow-up times (days), finite and ≥ 0.
 * @param events - 1 = death, 0 = censored.
 * @param groups - Group label of each case, for example the predicted class.
 * @throws Nqo1Error ERR_CALIBRATION_COHORT when the data are invalid, there is no event, fewer than
 *   two groups are present, or fewer than two groups have cases at risk at an event time.
 */
export function logRank(
  times: readonly number[],
  events: readonly number[],
  groups: readonly string[],
): LogRankResult {
  validateSurvivalData(times, events);
  const labels = validateGroups(groups, times.length, 2);
  const groupCount = labels.length;
  const groupIndex = groups.map((label) => labels.indexOf(label));

  // Cases at risk per group, decreasing as the sweep passes each time.
  const atRiskByGroup = new Array<number>(groupCount).fill(0);
  for (const index of groupIndex) atRiskByGroup[index]!++;
  const sizes = [...atRiskByGroup];

  const observed = new Array<number>(groupCount).fill(0);
  const expected = new Array<number>(groupCount).fill(0);
  const variance = labels.map(() => new Array<number>(groupCount).fill(0));

  const order = times.map((_, index) => index).sort((a, b) => times[a]! - times[b]!);
  let position = 0;
  while (position < order.length) {
    // Events and removals per group at this time.
    const time = times[order[position]!]!;
    const deathsByGroup = new Array<number>(groupCount).fill(0);
    const leavingByGroup = new Array<number>(groupCount).fill(0);
    while (position < order.length && times[order[position]!] === time) {
      const index = order[position]!;
      const group = groupIndex[index]!;
      if (events[index] === 1) deathsByGroup[group]!++;
      leavingByGroup[group]!++;
      position++;
    }

    const deaths = deathsByGroup.reduce((sum, count) => sum + count, 0);
    const atRisk = atRiskByGroup.reduce((sum, count) => sum + count, 0);
    if (deaths > 0) {
      // Hypergeometric mean and covariance of the deaths per group.
      const factor = atRisk > 1 ? (deaths * (atRisk - deaths)) / (atRisk - 1) : 0;
      for (let g = 0; g < groupCount; g++) {
        const shareG = atRiskByGroup[g]! / atRisk;
        observed[g]! += deathsByGroup[g]!;
        expected[g]! += deaths * shareG;
        for (let h = 0; h < groupCount; h++) {
          const shareH = atRiskByGroup[h]! / atRisk;
          variance[g]![h]! += factor * shareG * ((g === h ? 1 : 0) - shareH);
        }
      }
    }
    for (let g = 0; g < groupCount; g++) atRiskByGroup[g]! -= leavingByGroup[g]!;
  }

  const statistic = chiSquareOverInformativeGroups(observed, expected, variance, labels);
  const degreesOfFreedom = expected.filter((value) => value > 0).length - 1;
  return {
    statistic,
    degreesOfFreedom,
    pValue: chiSquareSurvival(statistic, degreesOfFreedom),
    groups: labels.map((group, g) => ({
      group,
      n: sizes[g]!,
      observed: observed[g]!,
      expected: expected[g]!,
    })),
    variance,
  };
}

/** (O − E)ᵀ V⁻¹ (O − E) over the groups with E > 0, the first of them left out. */
function chiSquareOverInformativeGroups(
  observed: readonly number[],
  expected: readonly number[],
  variance: readonly (readonly number[])[],
  labels: readonly string[],
): number {
  const informative = expected.flatMap((value, g) => (value > 0 ? [g] : []));
  if (informative.length < 2) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `Only group ${labels[informative[0] ?? 0]} has cases at risk at any event time, so the log-rank ` +
        'test has nothing to compare. Include cases of another group followed up past the first death.',
    );
  }

  const testedGroups = informative.slice(1);
  const difference = testedGroups.map((g) => observed[g]! - expected[g]!);
  const reduced = testedGroups.map((g) => testedGroups.map((h) => variance[g]![h]!));
  const factor = choleskyFactor(reduced);
  if (factor === null) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `The log-rank variance matrix of groups ${testedGroups.map((g) => labels[g]).join(', ')} is singular, ` +
        'so the groups cannot be compared. Merge groups that have too few cases at the event times.',
    );
  }
  const solved = choleskySolve(factor, difference);
  return difference.reduce((sum, value, i) => sum + value * solved[i]!, 0);
}
