/**
 * Eigenvalues of a real symmetric matrix: Householder reduction to tridiagonal form, then bisection
 * on Sturm sequence counts. Bisection finds each eigenvalue to within a few ulps of the largest
 * eigenvalue magnitude, at O(n³) for the reduction and O(n²·iterations) for the roots.
 */

/**
 * Returns the eigenvalues of the symmetric n×n matrix `matrix` (row-major, not modified) in
 * ascending order. Only the lower triangle is read.
 */
export function symmetricEigenvalues(matrix: Float64Array, n: number): Float64Array {
  if (n === 0) return new Float64Array(0);
  const { diagonal, offDiagonal } = tridiagonalise(matrix, n);

  // Gershgorin bounds of the tridiagonal matrix enclose every eigenvalue.
  let lower = Infinity;
  let upper = -Infinity;
  for (let row = 0; row < n; row++) {
    const radius = Math.abs(offDiagonal[row]!) + Math.abs(row + 1 < n ? offDiagonal[row + 1]! : 0);
    lower = Math.min(lower, diagonal[row]! - radius);
    upper = Math.max(upper, diagonal[row]! + radius);
  }
  const scale = Math.max(Math.abs(lower), Math.abs(upper), Number.MIN_VALUE);
  const tolerance = 4 * Number.EPSILON * scale;

  const eigenvalues = new Float64Array(n);
  for (let index = 0; index < n; index++) {
    // The eigenvalue with `index` smaller ones is where the count of eigenvalues below x passes index.
    let low = index === 0 ? lower : Math.max(lower, eigenvalues[index - 1]!);
    let high = upper;
    while (high - low > tolerance) {
      const middle = 0.5 * (low + high);
      if (middle === low || middle === high) break;
      if (countBelow(diagonal, offDiagonal, middle) > index) high = middle;
      else low = middle;
    }
    eigenvalues[index] = 0.5 * (low + high);
  }
  return eigenvalues;
}

/**
 * Reduces a symmetric matrix to tridiagonal form with Householder reflections. `offDiagonal[r]` is
 * the element between rows r − 1 and r (`offDiagonal[0]` is 0).
 */
function tridiagonalise(
  matrix: Float64Array,
  n: number,
): { diagonal: Float64Array; offDiagonal: Float64Array } {
  const a = Float64Array.from(matrix);
  for (let row = 0; row < n; row++) {
    for (let column = row + 1; column < n; column++) a[row * n + column] = a[column * n + row]!;
  }

  const v = new Float64Array(n);
  const w = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // Householder vector that zeroes column k below the subdiagonal.
    let norm = 0;
    for (let row = k + 1; row < n; row++) norm += a[row * n + k]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const head = a[(k + 1) * n + k]!;
    const alpha = head > 0 ? -norm : norm;
    v.fill(0);
    v[k + 1] = head - alpha;
    for (let row = k + 2; row < n; row++) v[row] = a[row * n + k]!;
    let vNormSquared = 0;
    for (let row = k + 1; row < n; row++) vNormSquared += v[row]! ** 2;
    if (vNormSquared === 0) continue;

    // A ← H A H with H = I − 2 v vᵀ / (vᵀv), applied as a rank-two update on the trailing block.
    const beta = 2 / vNormSquared;
    for (let row = k; row < n; row++) {
      let sum = 0;
      for (let column = k + 1; column < n; column++) sum += a[row * n + column]! * v[column]!;
      w[row] = beta * sum;
    }
    let vw = 0;
    for (let row = k + 1; row < n; row++) vw += v[row]! * w[row]!;
    const correction = (beta * vw) / 2;
    for (let row = k; row < n; row++) w[row] = w[row]! - correction * v[row]!;
    for (let row = k; row < n; row++) {
      for (let column = k; column < n; column++) {
        a[row * n + column] = a[row * n + column]! - v[row]! * w[column]! - w[row]! * v[column]!;
      }
    }
  }

  const diagonal = new Float64Array(n);
  const offDiagonal = new Float64Array(n);
  for (let row = 0; row < n; row++) {
    diagonal[row] = a[row * n + row]!;
    if (row > 0) offDiagonal[row] = a[row * n + row - 1]!;
  }
  return { diagonal, offDiagonal };
}

/** Counts the eigenvalues of the tridiagonal matrix below `x` (Sturm sequence sign changes). */
function countBelow(diagonal: Float64Array, offDiagonal: Float64Array, x: number): number {
  let count = 0;
  let q = 1;
  for (let row = 0; row < diagonal.length; row++) {
    const coupling = row === 0 ? 0 : (offDiagonal[row]! * offDiagonal[row]!) / q;
    q = diagonal[row]! - x - coupling;
    // A zero pivot is nudged so the recurrence continues; it sits on an eigenvalue boundary.
    if (q === 0) q = -Number.EPSILON * (Math.abs(x) + Number.MIN_VALUE);
    if (q < 0) count++;
  }
  return count;
}
