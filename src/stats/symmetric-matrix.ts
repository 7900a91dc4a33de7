/**
 * Solving and inverting small symmetric positive-definite matrices (a log-rank variance matrix, a
 * Cox information matrix) through the Cholesky factorisation A = L Lᵀ.
 *
 * A pivot below `tolerance` times the largest diagonal element marks the matrix as singular (not
 * positive definite), the way R's survival package uses `toler.chol` = machine epsilon^0.75.
 */

/** Relative pivot tolerance: .Machine$double.eps^0.75 ≈ 1.8e-12, the coxph default `toler.chol`. */
export const CHOLESKY_TOLERANCE = Number.EPSILON ** 0.75;

/** Cholesky factor L (lower triangular, rows) of a symmetric matrix, or null when it is singular. */
export function choleskyFactor(matrix: readonly (readonly number[])[]): number[][] | null {
  const size = matrix.length;
  let largestDiagonal = 0;
  for (let i = 0; i < size; i++) largestDiagonal = Math.max(largestDiagonal, Math.abs(matrix[i]![i]!));
  const pivotFloor = CHOLESKY_TOLERANCE * largestDiagonal;

  const lower = matrix.map(() => new Array<number>(size).fill(0));
  for (let column = 0; column < size; column++) {
    let pivot = matrix[column]![column]!;
    for (let k = 0; k < column; k++) pivot -= lower[column]![k]! ** 2;
    if (!(pivot > pivotFloor)) return null;
    const root = Math.sqrt(pivot);
    lower[column]![column] = root;

    for (let row = column + 1; row < size; row++) {
      let sum = matrix[row]![column]!;
      for (let k = 0; k < column; k++) sum -= lower[row]![k]! * lower[column]![k]!;
      lower[row]![column] = sum / root;
    }
  }
  return lower;
}

/** Solves L Lᵀ x = b for x, given the Cholesky factor L. */
export function choleskySolve(lower: readonly (readonly number[])[], right: readonly number[]): number[] {
  const size = lower.length;

  // Forward substitution L y = b.
  const y = new Array<number>(size).fill(0);
  for (let i = 0; i < size; i++) {
    let sum = right[i]!;
    for (let k = 0; k < i; k++) sum -= lower[i]![k]! * y[k]!;
    y[i] = sum / lower[i]![i]!;
  }

  // Back substitution Lᵀ x = y.
  const x = new Array<number>(size).fill(0);
  for (let i = size - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < size; k++) sum -= lower[k]![i]! * x[k]!;
    x[i] = sum / lower[i]![i]!;
  }
  return x;
}

/** Inverse of a symmetric positive-definite matrix from its Cholesky factor, column by column. */
export function choleskyInverse(lower: readonly (readonly number[])[]): number[][] {
  const size = lower.length;
  const columns = lower.map((_, column) => {
    const unit = new Array<number>(size).fill(0);
    unit[column] = 1;
    return choleskySolve(lower, unit);
  });

  // Symmetrise: entry (i, j) is the average of the two computed copies.
  return columns.map((_, i) => columns.map((__, j) => (columns[j]![i]! + columns[i]![j]!) / 2));
}
