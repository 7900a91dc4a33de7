/**
 * Harrell's concordance of a risk score with right-censored survival, as R's `coxph` reports it in
 * `fit$concordance` (survival 3.5.3, which calls `concordancefit(…, reverse = TRUE)`).
 *
 * A pair (i, j) is comparable when case i died at t_i and case j was still at risk after it: t_j > t_i,
 * or t_j = t_i with j censored (censoring counts as after a death at the same time). A comparable
 * pair is concordant when the case that died first has the higher risk score, discordant when it has
 * the lower one, and tied in the score otherwise. Pairs of deaths at the same time are not
 * comparable (`tied.y`).
 *   C = (concordant + tied / 2) / (concordant + discordant + tied)
 * The standard error of C (an infinitesimal jackknife in R) is not computed.
 */

export interface Concordance {
  /** Harrell's C. */
  readonly value: number;
  readonly concordant: number;
  readonly discordant: number;
  /** Comparable pairs with equal risk scores (`tied.x`). */
  readonly tiedRisk: number;
  /** Pairs of deaths at the same time, with any scores (`tied.y` + `tied.xy`). */
  readonly tiedTime: number;
}

/**
 * Counts concordant, discordant and tied pairs of a risk score (higher = shorter expected survival).
 * O(n²) in the number of cases, which suits cohorts of hundreds to a few thousand.
 */
export function concordance(
  times: readonly number[],
  events: readonly number[],
  riskScores: readonly number[],
): Concordance {
  let concordant = 0;
  let discordant = 0;
  let tiedRisk = 0;
  let tiedTime = 0;

  for (let i = 0; i < times.length; i++) {
    if (events[i] !== 1) continue;
    const time = times[i]!;
    for (let j = 0; j < times.length; j++) {
      if (j === i) continue;
      const otherTime = times[j]!;
      if (otherTime === time && events[j] === 1) {
        if (j > i) tiedTime++;
        continue;
      }
      if (otherTime < time) continue;

      const difference = riskScores[i]! - riskScores[j]!;
      if (difference > 0) concordant++;
      else if (difference < 0) discordant++;
      else tiedRisk++;
    }
  }

  const comparable = concordant + discordant + tiedRisk;
  return {
    value: (concordant + tiedRisk / 2) / comparable,
    concordant,
    discordant,
    tiedRisk,
    tiedTime,
  };
}
