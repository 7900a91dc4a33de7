/**
 * First-order (intensity statistics) features, as pyradiomics 3.x `firstorder.py` computes them.
 *
 * Symbols: X is the vector of the N_p ROI intensities (raw image values, for CT in HU), c is the
 * `voxelArrayShift` setting, V_voxel = Δi·Δj·Δk the voxel volume in mm³, and P(i) the histogram of
 * the discretised intensities with p(i) = P(i)/N_p. Moments use the divisor N_p. Percentiles use
 * NumPy's default linear interpolation at position (N_p − 1)·q in the sorted values.
 * ε = 2.220446049250313e-16.
 */

import type { DiscretisedRoi } from './discretise.js';
import type { Roi } from './roi.js';

const EPSILON = 2.220446049250313e-16;

/** Prepared input of the first-order features. */
export interface FirstOrderInput {
  /** ROI intensities X. */
  readonly values: Float64Array;
  /** ROI intensities sorted ascending. */
  readonly sorted: Float64Array;
  /** Arithmetic mean of X. */
  readonly mean: number;
  /** Voxel volume Δi·Δj·Δk in mm³. */
  readonly voxelVolumeMm3: number;
  /** The `voxelArrayShift` setting c. */
  readonly voxelArrayShift: number;
  /** Discretised histogram P, indexed by bin number. */
  readonly histogram: Float64Array;
}

/** Prepares the first-order input of an ROI. */
export function prepareFirstOrder(
  roi: Roi,
  discretised: DiscretisedRoi,
  voxelArrayShift: number,
): FirstOrderInput {
  const values = roi.roiIntensities;
  let sorted: Float64Array | undefined;
  let sum = 0;
  for (let index = 0; index < values.length; index++) sum += values[index]!;
  const [di, dj, dk] = roi.spacingMm;
  return {
    values,
    // Sorted on first use: energy and the moments do not need it.
    get sorted(): Float64Array {
      sorted ??= sortedCopy(values);
      return sorted;
    },
    mean: sum / values.length,
    voxelVolumeMm3: di * dj * dk,
    voxelArrayShift,
    histogram: discretised.histogram,
  };
}

/** Widest value range, max − min, that {@link sortedCopy} sorts by counting (32 MB of counts). */
const COUNTING_SORT_RANGE = 2 ** 22;

/**
 * Returns `values` sorted ascending. When every value is an integer (CT in HU, or stored values)
 * within a range of {@link COUNTING_SORT_RANGE}, the values are counted per integer and written back
 * in order, which gives the same array as a comparison sort in linear time. −0 is not an integer
 * here, so an array holding it takes the comparison sort, which orders −0 before +0.
 */
export function sortedCopy(values: Float64Array): Float64Array {
  let minimum = Infinity;
  let maximum = -Infinity;
  let integral = true;
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    if (!Number.isInteger(value) || Object.is(value, -0)) {
      integral = false;
      break;
    }
    if (value < minimum) minimum = value;
    if (value > maximum) maximum = value;
  }
  if (!integral || values.length === 0 || maximum - minimum >= COUNTING_SORT_RANGE) {
    return Float64Array.from(values).sort();
  }

  const counts = new Int32Array(maximum - minimum + 1);
  for (let index = 0; index < values.length; index++) counts[values[index]! - minimum]!++;
  const sorted = new Float64Array(values.length);
  let position = 0;
  for (let offset = 0; offset < counts.length; offset++) {
    const count = counts[offset]!;
    if (count === 0) continue;
    sorted.fill(minimum + offset, position, position + count);
    position += count;
  }
  return sorted;
}

/** Returns the q-quantile (0 ≤ q ≤ 1) of sorted values with NumPy's linear method. */
function quantile(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  const fraction = position - lower;
  const a = sorted[lower]!;
  const b = sorted[upper]!;
  // NumPy's lerp evaluates from the nearer end, which keeps the result monotonic.
  return fraction >= 0.5 ? b - (b - a) * (1 - fraction) : a + (b - a) * fraction;
}

/** Σ (x − mean)^order for orders 2, 3 and 4, computed in one pass and kept per input. */
const momentSums = new WeakMap<FirstOrderInput, readonly [number, number, number]>();

/** Returns the central moment Σ (x − mean)^order / N_p for order 2, 3 or 4. */
function centralMoment(input: FirstOrderInput, order: 2 | 3 | 4): number {
  let sums = momentSums.get(input);
  if (sums === undefined) {
    let sum2 = 0;
    let sum3 = 0;
    let sum4 = 0;
    const values = input.values;
    const table = integerPowerTable(input);
    if (table !== undefined) {
      // The same powers, computed once per distinct integer value and added in the same order.
      const { lowest, powers } = table;
      for (let index = 0; index < values.length; index++) {
        const cell = 3 * (values[index]! - lowest);
        sum2 += powers[cell]!;
        sum3 += powers[cell + 1]!;
        sum4 += powers[cell + 2]!;
      }
    } else {
      for (let index = 0; index < values.length; index++) {
        const value = values[index]!;
        sum2 += (value - input.mean) ** 2;
        sum3 += (value - input.mean) ** 3;
        sum4 += (value - input.mean) ** 4;
      }
    }
    sums = [sum2, sum3, sum4];
    momentSums.set(input, sums);
  }
  return sums[order - 2]! / input.values.length;
}

/**
 * For integer intensities spanning fewer than {@link COUNTING_SORT_RANGE} values, returns
 * (v − mean)², (v − mean)³ and (v − mean)⁴ for every integer v from the lowest value up, three cells
 * per v; else undefined.
 */
function integerPowerTable(input: FirstOrderInput): { lowest: number; powers: Float64Array } | undefined {
  const lowest = input.sorted[0];
  const highest = input.sorted[input.sorted.length - 1];
  if (lowest === undefined || highest === undefined || !(highest - lowest < COUNTING_SORT_RANGE))
    return undefined;
  const values = input.values;
  for (let index = 0; index < values.length; index++) if (!Number.isInteger(values[index]!)) return undefined;
  const powers = new Float64Array(3 * (highest - lowest + 1));
  for (let offset = 0; offset <= highest - lowest; offset++) {
    const value = lowest + offset;
    powers[3 * offset] = (value - input.mean) ** 2;
    powers[3 * offset + 1] = (value - input.mean) ** 3;
    powers[3 * offset + 2] = (value - input.mean) ** 4;
  }
  return { lowest, powers };
}

/** Σ (X(i) + c)², kept per input. */
const energies = new WeakMap<FirstOrderInput, number>();

/**
 * Energy: Σ (X(i) + c)². pyradiomics `original_firstorder_Energy`, IBSI N8CA (IBSI has no shift, so
 * it matches only for c = 0). In squared image units. It is 0 only when every shifted value is 0.
 */
export function energy(input: FirstOrderInput): number {
  const known = energies.get(input);
  if (known !== undefined) return known;
  let sum = 0;
  const values = input.values;
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    const shifted = value + input.voxelArrayShift;
    sum += shifted * shifted;
  }
  energies.set(input, sum);
  return sum;
}

/**
 * Total Energy: V_voxel · Σ (X(i) + c)². pyradiomics `original_firstorder_TotalEnergy`; not an IBSI
 * feature. In squared image units times mm³. Part of the BR-RO model.
 */
export function totalEnergy(input: FirstOrderInput): number {
  return input.voxelVolumeMm3 * energy(input);
}

/**
 * Root Mean Squared: √(Σ (X(i) + c)² / N_p). pyradiomics `original_firstorder_RootMeanSquared`,
 * IBSI 5ZWQ (for c = 0).
 */
export function rootMeanSquared(input: FirstOrderInput): number {
  return Math.sqrt(energy(input) / input.values.length);
}

/** Mean: Σ X(i) / N_p. pyradiomics `original_firstorder_Mean`, IBSI Q4LE. A flat ROI gives its value. */
export function mean(input: FirstOrderInput): number {
  return input.mean;
}

/** Minimum of X. pyradiomics `original_firstorder_Minimum`, IBSI 1GSF. A flat ROI gives its value. */
export function minimum(input: FirstOrderInput): number {
  return input.sorted[0]!;
}

/** Maximum of X. pyradiomics `original_firstorder_Maximum`, IBSI 84IY. A flat ROI gives its value. */
export function maximum(input: FirstOrderInput): number {
  return input.sorted[input.sorted.length - 1]!;
}

/** Range: max(X) − min(X). pyradiomics `original_firstorder_Range`, IBSI 2OJQ. A flat ROI gives 0. */
export function range(input: FirstOrderInput): number {
  return maximum(input) - minimum(input);
}

/**
 * 10th percentile of X (linear interpolation). pyradiomics `original_firstorder_10Percentile`, IBSI QG58. A
 * flat ROI gives its value.
 */
export function percentile10(input: FirstOrderInput): number {
  return quantile(input.sorted, 10 / 100);
}

/**
 * 90th percentile of X (linear interpolation). pyradiomics `original_firstorder_90Percentile`, IBSI 8DWT. A
 * flat ROI gives its value.
 */
export function percentile90(input: FirstOrderInput): number {
  return quantile(input.sorted, 90 / 100);
}

/** Median of X. pyradiomics `original_firstorder_Median`, IBSI Y12H. A flat ROI gives its value. */
export function median(input: FirstOrderInput): number {
  return quantile(input.sorted, 0.5);
}

/**
 * Interquartile Range: P75 − P25. pyradiomics `original_firstorder_InterquartileRange`, IBSI SALO. A flat ROI
 * gives 0.
 */
export function interquartileRange(input: FirstOrderInput): number {
  return quantile(input.sorted, 75 / 100) - quantile(input.sorted, 25 / 100);
}

/**
 * Mean Absolute Deviation: Σ |X(i) − X̄| / N_p. pyradiomics `original_firstorder_MeanAbsoluteDeviation`, IBSI
 * 4FUA. A flat ROI gives 0.
 */
export function meanAbsoluteDeviation(input: FirstOrderInput): number {
  let sum = 0;
  const values = input.values;
  const mean = input.mean;
  for (let index = 0; index < values.length; index++) sum += Math.abs(values[index]! - mean);
  return sum / input.values.length;
}

/**
 * Robust Mean Absolute Deviation: the mean absolute deviation from their own mean of the values
 * between P10 and P90, both inclusive. pyradiomics `original_firstorder_RobustMeanAbsoluteDeviation`,
 * IBSI 1128. A flat ROI gives 0.
 */
export function robustMeanAbsoluteDeviation(input: FirstOrderInput): number {
  const low = percentile10(input);
  const high = percentile90(input);
  let count = 0;
  let sum = 0;
  const values = input.values;
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    if (value < low || value > high) continue;
    count++;
    sum += value;
  }
  const subsetMean = sum / count;
  let deviation = 0;
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    if (value >= low && value <= high) deviation += Math.abs(value - subsetMean);
  }
  return deviation / count;
}

/**
 * Variance: Σ (X(i) − X̄)² / N_p (population variance). pyradiomics `original_firstorder_Variance`,
 * IBSI ECT3. Computed as the square of NumPy's std, as pyradiomics does. A flat ROI gives 0.
 */
export function variance(input: FirstOrderInput): number {
  return Math.sqrt(centralMoment(input, 2)) ** 2;
}

/**
 * Skewness: m₃ / m₂^1.5 with central moments mₖ. pyradiomics `original_firstorder_Skewness`, IBSI
 * KE2A. A flat ROI (m₂ = 0) gives 0.
 */
export function skewness(input: FirstOrderInput): number {
  const m2 = centralMoment(input, 2);
  if (m2 === 0) return 0;
  return centralMoment(input, 3) / m2 ** 1.5;
}

/**
 * Kurtosis: m₄ / m₂². pyradiomics `original_firstorder_Kurtosis`. This is plain kurtosis, 3 more than
 * IBSI "kurtosis" IPH6, which is excess kurtosis. A flat ROI (m₂ = 0) gives 0.
 */
export function kurtosis(input: FirstOrderInput): number {
  const m2 = centralMoment(input, 2);
  if (m2 === 0) return 0;
  return centralMoment(input, 4) / (m2 * m2);
}

/**
 * Entropy: −Σ p(i) log2(p(i) + ε) over the discretised histogram. pyradiomics
 * `original_firstorder_Entropy`, IBSI "intensity histogram entropy" TLU2. A flat ROI gives
 * −log2(1 + ε) ≈ −3.2e-16, not 0.
 */
export function entropy(input: FirstOrderInput): number {
  const total = input.values.length;
  let sum = 0;
  for (const count of input.histogram) {
    if (count === 0) continue;
    const p = count / total;
    sum -= p * Math.log2(p + EPSILON);
  }
  return sum;
}

/**
 * Uniformity: Σ p(i)² over the discretised histogram. pyradiomics `original_firstorder_Uniformity`,
 * IBSI "intensity histogram uniformity" BJ5W. A flat ROI gives 1.
 */
export function uniformity(input: FirstOrderInput): number {
  const total = input.values.length;
  let sum = 0;
  for (const count of input.histogram) {
    const p = count / total;
    sum += p * p;
  }
  return sum;
}
