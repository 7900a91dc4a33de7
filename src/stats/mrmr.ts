/**
 * Minimum redundancy, maximum relevance ranking of candidate features for a binary class
 * (Peng, Long and Ding 2005; the MID criterion).
 *
 * Mutual information between two variables is estimated under a bivariate normal assumption from
 * their Pearson correlation ρ: I = −½·ln(1 − ρ²), as the mRMRe R package does for continuous
 * variables. Relevance of feature f is I(f; y), with y coded 0/1 (point-biserial correlation).
 * The first pick is the most relevant feature; each later pick maximises
 *   I(f; y) − (1/|S|)·Σ_{s ∈ S} I(f; s)
 * over the features not yet in the selected set S. Ties go to the earlier column.
 */
import { Nqo1Error } from '../errors.js';

/** One ranked feature. */
export interface MrmrPick {
  /** Column index in the candidate matrix. */
  readonly column: number;
  /** I(f; y) in nats. */
  readonly relevance: number;
  /** Mean I(f; s) over the features picked before it (0 for the first). */
  readonly redundancy: number;
}

/** Largest |ρ| used in the information estimate, so that a duplicate column gives a finite value. */
const MAX_ABS_CORRELATION = 1 - 1e-12;

/** Pearson correlation of two equal-length columns; 0 when either is constant. */
export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < n; i++) {
    meanA += a[i]!;
    meanB += b[i]!;
  }
  meanA /= n;
  meanB /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - meanA;
    const db = b[i]! - meanB;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Gaussian mutual information −½·ln(1 − ρ²) in nats. */
export function gaussianMutualInformation(correlation: number): number {
  const r = Math.min(Math.abs(correlation), MAX_ABS_CORRELATION);
  return -0.5 * Math.log(1 - r * r);
}

/**
 * Ranks up to `count` of the columns of `candidates` (rows = cases) by mRMR for `labels` (0/1).
 * Constant columns are never picked.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT for mismatched sizes, a non-finite value or a single class.
 */
export function mrmrRanking(
  candidates: readonly (readonly number[])[],
  labels: readonly number[],
  count: number,
): MrmrPick[] {
  if (candidates.length !== labels.length || candidates.length < 3) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `mRMR needs one row of candidate features per labelled case and at least 3 cases; got ${candidates.length} rows for ${labels.length} labels.`,
    );
  }
  if (new Set(labels).size < 2) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      'mRMR needs cases of both classes. Add cases of the other class.',
    );
  }
  const columnCount = candidates[0]!.length;
  const columns = Array.from({ length: columnCount }, (_, column) =>
    candidates.map((row, index) => {
      const value = row[column]!;
      if (!Number.isFinite(value)) {
        throw new Nqo1Error(
          'ERR_CALIBRATION_COHORT',
          `Candidate feature ${column} of case ${index + 1} is ${value}; every candidate value must be finite.`,
        );
      }
      return value;
    }),
  );

  const constant = columns.map((values) => values.every((value) => value === values[0]));
  const relevance = columns.map((values, column) =>
    constant[column] ? Number.NEGATIVE_INFINITY : gaussianMutualInformation(pearson(values, labels)),
  );
  const redundancySum = new Array<number>(columnCount).fill(0);
  const picked: MrmrPick[] = [];
  const selected = new Array<boolean>(columnCount).fill(false);

  while (picked.length < Math.min(count, columnCount)) {
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let column = 0; column < columnCount; column++) {
      if (selected[column] || constant[column]) continue;
      const redundancy = picked.length === 0 ? 0 : redundancySum[column]! / picked.length;
      const score = relevance[column]! - redundancy;
      if (score > bestScore) {
        bestScore = score;
        best = column;
      }
    }
    if (best < 0) break;
    selected[best] = true;
    picked.push({
      column: best,
      relevance: relevance[best]!,
      redundancy: picked.length === 0 ? 0 : redundancySum[best]! / picked.length,
    });
    for (let column = 0; column < columnCount; column++) {
      if (!selected[column] && !constant[column]) {
        redundancySum[column]! += gaussianMutualInformation(pearson(columns[column]!, columns[best]!));
      }
    }
  }
  return picked;
}
