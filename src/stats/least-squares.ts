/**
 * Weighted linear least squares by Householder QR, the step that iteratively reweighted least
 * squares (IRLS) repeats when fitting a generalised linear model. Like R's `lm.fit` and the C
 * routine `Cdqrls` that `glm.fit` calls, it factors the weighted design instead of forming XᵀWX,
 * so the condition number is not squared.
 *
 * With design X (n × p), responses z and row weights w (square roots of the working weights):
 *   minimise ‖diag(w)(Xβ − z)‖²,   diag(w)X = QR,   Rβ = Qᵀ diag(w) z,
 *   (XᵀWX)⁻¹ = R⁻¹R⁻ᵀ, the unscaled covariance of β.
 */

/** Solution of one weighted least-squares problem. */
export interface WeightedLeastSquares {
  readonly coefficients: number[];
  /** (XᵀWX)⁻¹, p × p, row-major rows. */
  readonly unscaledCovariance: number[][];
}

/** Thrown value when a column of the design is (numerically) a linear combination of the others. */
export class RankDeficientDesign extends Error {
  override readonly name = 'RankDeficientDesign';

  constructor(readonly column: number) {
    super(`design column ${column} is a linear combination of the columns before it`);
  }
}

/**
 * A column counts as dependent when the part of it left after removing the earlier columns has a
 * norm below this fraction of its original norm: R's `glm.fit` passes min(1e-7, epsilon/1000)
 * = 1e-11 to its QR for the default epsilon 1e-8.
 */
export const RANK_TOLERANCE = 1e-11;

/**
 * Solves the weighted least-squares problem for `design` (rows = cases), `response` and row
 * `rootWeights`.
 *
 * @throws RankDeficientDesign when a column is dependent on the columns before it (R would pivot it
 *   to the end and report NA for its coefficient).
 */
export function solveWeightedLeastSquares(
  design: readonly (readonly number[])[],
  response: readonly number[],
  rootWeights: readonly number[],
): WeightedLeastSquares {
  const n = design.length;
  const p = design[0]?.length ?? 0;
  const a = design.map((row, i) => row.map((value) => value * rootWeights[i]!));
  const b = response.map((value, i) => value * rootWeights[i]!);

  // Householder reflections H_k = I − 2vvᵀ/(vᵀv) zero column k below the diagonal.
  for (let k = 0; k < p; k++) {
    let originalNormSquared = 0;
    let normSquared = 0;
    for (let i = 0; i < n; i++) {
      const value = a[i]![k]!;
      originalNormSquared += value * value;
      if (i >= k) normSquared += value * value;
    }
    const norm = Math.sqrt(normSquared);
    if (k >= n || norm <= RANK_TOLERANCE * Math.sqrt(originalNormSquared) || norm === 0) {
      throw new RankDeficientDesign(k);
    }

    const diagonal = a[k]![k]!;
    const alpha = diagonal > 0 ? -norm : norm;
    const v = new Array<number>(n - k);
    for (let i = k; i < n; i++) v[i - k] = a[i]![k]!;
    v[0]! -= alpha;
    let vNormSquared = 0;
    for (const component of v) vNormSquared += component * component;

    for (let j = k; j < p; j++) {
      let dot = 0;
      for (let i = k; i < n; i++) dot += v[i - k]! * a[i]![j]!;
      const scale = (2 * dot) / vNormSquared;
      for (let i = k; i < n; i++) a[i]![j]! -= scale * v[i - k]!;
    }
    let dot = 0;
    for (let i = k; i < n; i++) dot += v[i - k]! * b[i]!;
    const scale = (2 * dot) / vNormSquared;
    for (let i = k; i < n; i++) b[i]! -= scale * v[i - k]!;
  }

  // Back substitution Rβ = (Qᵀb)[0..p).
  const coefficients = new Array<number>(p).fill(0);
  for (let k = p - 1; k >= 0; k--) {
    let sum = b[k]!;
    for (let j = k + 1; j < p; j++) sum -= a[k]![j]! * coefficients[j]!;
    coefficients[k] = sum / a[k]![k]!;
  }

  // R⁻¹ column by column (upper triangular), then R⁻¹R⁻ᵀ.
  const inverse = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let column = 0; column < p; column++) {
    inverse[column]![column] = 1 / a[column]![column]!;
    for (let k = column - 1; k >= 0; k--) {
      let sum = 0;
      for (let j = k + 1; j <= column; j++) sum += a[k]![j]! * inverse[j]![column]!;
      inverse[k]![column] = -sum / a[k]![k]!;
    }
  }
  const unscaledCovariance = Array.from({ length: p }, (_, r) =>
    Array.from({ length: p }, (_, c) => {
      let sum = 0;
      for (let j = Math.max(r, c); j < p; j++) sum += inverse[r]![j]! * inverse[c]![j]!;
      return sum;
    }),
  );

  return { coefficients, unscaledCovariance };
}
