/**
 * Gray Level Co-occurrence Matrix (GLCM) features, as pyradiomics 3.x computes them with its default
 * `symmetricalGLCM` True.
 *
 * Symbols: for direction θ, P(i, j | θ) counts ROI voxels of gray level i whose neighbour at offset θ
 * is an ROI voxel of level j. The transpose is added (symmetric GLCM) and each direction is normalised
 * to p(i, j) = P(i, j)/ΣP. Gray levels i, j are bin numbers, and only occupied levels are kept. N_g is
 * the largest bin number. p_x(i) = Σ_j p(i, j), p_y(j) = Σ_i p(i, j), μ_x = Σ p·i, μ_y = Σ p·j,
 * σ_x and σ_y the matching standard deviations. p_{x+y}(k) = Σ_{i+j=k} p and p_{x−y}(k) = Σ_{|i−j|=k} p.
 * HX, HY and HXY are the entropies of p_x, p_y and p; HXY1 = −Σ p log2(p_x p_y + ε) and
 * HXY2 = −Σ p_x p_y log2(p_x p_y + ε). ε = 2.220446049250313e-16.
 *
 * Directions are the unidirectional offsets of the `distances` setting (13 at distance 1), limited by
 * the bounding box. A direction without pairs is dropped. Every feature is computed per direction and
 * the mean over directions is returned, skipping NaN values (IBSI "3-D averaged"). With the
 * `weightingNorm` setting the directions are first summed into one matrix, each weighted by
 * exp(−length²) with its length in millimetres under that norm ('no_weighting': weight 1, IBSI
 * "3-D merged"), and the features use that single matrix.
 */

import { symmetricEigenvalues } from './eigen.js';
import { entropyOf, type Glcm, type GlcmAngle } from './glcm-matrix.js';

export { buildGlcm, type Glcm, type GlcmAngle } from './glcm-matrix.js';

/** Averages `perAngle` over the directions, skipping NaN values as NumPy's nanmean does. */
function meanOverAngles(glcm: Glcm, perAngle: (angle: GlcmAngle) => number): number {
  let sum = 0;
  let count = 0;
  for (const angle of glcm.angles) {
    const value = perAngle(angle);
    if (Number.isNaN(value)) continue;
    sum += value;
    count++;
  }
  return count === 0 ? Number.NaN : sum / count;
}

/** Sums `weight(i, j) · p(i, j)` over one direction; i and j are bin numbers. */
function weightedSum(glcm: Glcm, angle: GlcmAngle, weight: (i: number, j: number) => number): number {
  const levels = glcm.grayLevels;
  const n = levels.length;
  let sum = 0;
  for (let row = 0; row < n; row++) {
    for (let column = 0; column < n; column++) {
      const value = angle.p[row * n + column]!;
      if (value !== 0) sum += weight(levels[row]!, levels[column]!) * value;
    }
  }
  return sum;
}

/** Autocorrelation: Σ p(i, j)·i·j. pyradiomics `original_glcm_Autocorrelation`, IBSI QWB0. A flat ROI gives 1. */
export function autocorrelation(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => weightedSum(glcm, a, (i, j) => i * j));
}

/** Joint Average: μ_x. pyradiomics `original_glcm_JointAverage`, IBSI 60VM. A flat ROI gives 1. */
export function jointAverage(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => a.ux);
}

/** Cluster Prominence: Σ (i + j − μ_x − μ_y)⁴ p(i, j). pyradiomics `original_glcm_ClusterProminence`, IBSI AE86. Flat ROI: 0. */
export function clusterProminence(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => weightedSum(glcm, a, (i, j) => (i + j - a.ux - a.uy) ** 4));
}

/** Cluster Shade: Σ (i + j − μ_x − μ_y)³ p(i, j). pyradiomics `original_glcm_ClusterShade`, IBSI 7NFM. Flat ROI: 0. */
export function clusterShade(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => weightedSum(glcm, a, (i, j) => (i + j - a.ux - a.uy) ** 3));
}

/** Cluster Tendency: Σ (i + j − μ_x − μ_y)² p(i, j). pyradiomics `original_glcm_ClusterTendency`, IBSI DG8W. Flat ROI: 0. */
export function clusterTendency(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => weightedSum(glcm, a, (i, j) => (i + j - a.ux - a.uy) ** 2));
}

/** Contrast: Σ (i − j)² p(i, j). pyradiomics `original_glcm_Contrast`, IBSI ACUI. A flat ROI gives 0. */
export function contrast(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => weightedSum(glcm, a, (i, j) => (i - j) ** 2));
}

/**
 * Correlation: Σ p(i, j)(i − μ_x)(j − μ_y) / (σ_x σ_y). pyradiomics `original_glcm_Correlation`, IBSI
 * NI2N. Returns 1 for a direction with σ_x σ_y = 0, so a flat ROI gives 1.
 */
export function correlation(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => {
    const deviation = a.sigmaX * a.sigmaY;
    if (deviation === 0) return 1;
    return weightedSum(glcm, a, (i, j) => (i - a.ux) * (j - a.uy)) / deviation;
  });
}

/** Difference Average: Σ_k k·p_{x−y}(k). pyradiomics `original_glcm_DifferenceAverage`, IBSI TF7R. Flat ROI: 0. */
export function differenceAverage(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => a.pDifference.reduce((sum, value, k) => sum + k * value, 0));
}

/**
 * Difference Entropy: −Σ_k p_{x−y}(k) log2(p_{x−y}(k) + ε). pyradiomics `original_glcm_DifferenceEntropy`,
 * IBSI NTRS. A flat ROI gives −log2(1 + ε) ≈ −3.2e-16.
 */
export function differenceEntropy(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => entropyOf(a.pDifference));
}

/**
 * Difference Variance: Σ_k (k − DA)² p_{x−y}(k), DA the difference average. pyradiomics
 * `original_glcm_DifferenceVariance`, IBSI D3YU. A flat ROI gives 0.
 */
export function differenceVariance(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => {
    const average = a.pDifference.reduce((sum, value, k) => sum + k * value, 0);
    return a.pDifference.reduce((sum, value, k) => sum + (k - average) ** 2 * value, 0);
  });
}

/** Joint Energy: Σ p(i, j)². pyradiomics `original_glcm_JointEnergy`, IBSI 8ZQL. A flat ROI gives 1. */
export function jointEnergy(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => a.p.reduce((sum, value) => sum + value * value, 0));
}

/** Joint Entropy: HXY. pyradiomics `original_glcm_JointEntropy`, IBSI TU9B. A flat ROI gives −log2(1 + ε). */
export function jointEntropy(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => a.hxy);
}

/**
 * Informational Measure of Correlation 1: (HXY − HXY1) / max(HX, HY). pyradiomics `original_glcm_Imc1`,
 * IBSI R8DG. Returns 0 for a direction with max(HX, HY) = 0, so a flat ROI gives 0.
 */
export function imc1(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => {
    const divisor = Math.max(a.hx, a.hy);
    return divisor === 0 ? 0 : (a.hxy - a.hxy1) / divisor;
  });
}

/**
 * Informational Measure of Correlation 2: √(1 − e^(−2(HXY2 − HXY))). pyradiomics `original_glcm_Imc2`,
 * IBSI JN9H. Returns 0 for a direction with HXY2 = HXY, so a flat ROI gives 0.
 */
export function imc2(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => (a.hxy2 === a.hxy ? 0 : Math.sqrt(1 - Math.exp(-2 * (a.hxy2 - a.hxy)))));
}

/** Inverse Difference Moment: Σ p(i, j)/(1 + (i − j)²). pyradiomics `original_glcm_Idm`, IBSI WF0Z. Flat ROI: 1. */
export function idm(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => weightedSum(glcm, a, (i, j) => 1 / (1 + (i - j) ** 2)));
}

/**
 * Inverse Difference Moment Normalized: Σ p(i, j)/(1 + (i − j)²/N_g²). pyradiomics `original_glcm_Idmn`,
 * IBSI 1QCO. A flat ROI gives 1.
 */
export function idmn(glcm: Glcm): number {
  const ng2 = glcm.levelCount * glcm.levelCount;
  return meanOverAngles(glcm, (a) => weightedSum(glcm, a, (i, j) => 1 / (1 + (i - j) ** 2 / ng2)));
}

/** Inverse Difference: Σ p(i, j)/(1 + |i − j|). pyradiomics `original_glcm_Id`, IBSI IB1Z. A flat ROI gives 1. */
export function id(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => weightedSum(glcm, a, (i, j) => 1 / (1 + Math.abs(i - j))));
}

/**
 * Inverse Difference Normalized: Σ p(i, j)/(1 + |i − j|/N_g). pyradiomics `original_glcm_Idn`, IBSI
 * NDRX. A flat ROI gives 1.
 */
export function idn(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) =>
    weightedSum(glcm, a, (i, j) => 1 / (1 + Math.abs(i - j) / glcm.levelCount)),
  );
}

/** Inverse Variance: Σ_{k≥1} p_{x−y}(k)/k². pyradiomics `original_glcm_InverseVariance`, IBSI E8JP. Flat ROI: 0. */
export function inverseVariance(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) =>
    a.pDifference.reduce((sum, value, k) => (k === 0 ? sum : sum + value / (k * k)), 0),
  );
}

/** Maximum Probability: max p(i, j). pyradiomics `original_glcm_MaximumProbability`, IBSI GYBY. A flat ROI gives 1. */
export function maximumProbability(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => a.p.reduce((max, value) => Math.max(max, value), 0));
}

/** Sum Average: Σ_k k·p_{x+y}(k). pyradiomics `original_glcm_SumAverage`, IBSI ZGXS. A flat ROI gives 2. */
export function sumAverage(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => a.pSum.reduce((sum, value, k) => sum + k * value, 0));
}

/**
 * Sum Entropy: −Σ_k p_{x+y}(k) log2(p_{x+y}(k) + ε). pyradiomics `original_glcm_SumEntropy`, IBSI P6QZ.
 * A flat ROI gives −log2(1 + ε) ≈ −3.2e-16.
 */
export function sumEntropy(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => entropyOf(a.pSum));
}

/** Sum of Squares: Σ (i − μ_x)² p(i, j). pyradiomics `original_glcm_SumSquares`, IBSI "joint variance" UR99. Flat ROI: 0. */
export function sumSquares(glcm: Glcm): number {
  return meanOverAngles(glcm, (a) => a.sigmaX * a.sigmaX);
}

/**
 * Maximal Correlation Coefficient: √ of the second-largest eigenvalue of
 * Q(i, j) = Σ_k p(i, k) p(j, k) / (p_x(i) p_y(k)). pyradiomics `original_glcm_MCC`; not in IBSI.
 * One gray level gives 1.
 *
 * The symmetric GLCM has p_x = p_y, so Q is similar to M² with the symmetric M = D^(−1/2) p D^(−1/2),
 * D = diag(p_x), restricted to levels with p_x > 0 (the others add zero eigenvalues). The engine takes
 * the eigenvalues of M from a symmetric solver. pyradiomics adds ε to the denominator of Q and uses a
 * general eigen-solver, so the two differ slightly: up to 2e-11 relative on the pyradiomics brain
 * baselines, against about 1e-15 for the other GLCM features.
 */
export function mcc(glcm: Glcm): number {
  if (glcm.grayLevels.length < 2) return 1;
  return meanOverAngles(glcm, (a) => {
    const n = glcm.grayLevels.length;
    const present: number[] = [];
    for (let row = 0; row < n; row++) if (a.px[row]! > 0) present.push(row);

    const m = present.length;
    const matrix = new Float64Array(m * m);
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < m; c++) {
        const row = present[r]!,
          column = present[c]!;
        matrix[r * m + c] = a.p[row * n + column]! / Math.sqrt(a.px[row]! * a.px[column]!);
      }
    }

    // Eigenvalues of Q are the squares of those of M, plus zeros for the absent levels.
    const squares = Array.from(symmetricEigenvalues(matrix, m), (value) => value * value);
    for (let zero = m; zero < n; zero++) squares.push(0);
    squares.sort((x, y) => x - y);
    return Math.sqrt(squares[squares.length - 2]!);
  });
}
