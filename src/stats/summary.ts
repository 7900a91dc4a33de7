/**
 * Descriptive summary of one feature over a cohort: count, mean, sample standard deviation and
 * quantiles, kept on a site card so that later cases can be compared with the calibration cohort.
 *
 * Quantiles follow R's default `quantile(x, type = 7)`: with the values sorted as x_1 ≤ … ≤ x_n,
 * h = (n − 1)·p + 1 and Q(p) = x_⌊h⌋ + (h − ⌊h⌋)·(x_⌊h⌋+1 − x_⌊h⌋).
 */
import type { FeatureDistribution } from '../model/card-schema.js';

/** Type-7 quantile of ascending `sorted` values at probability p in [0, 1]. */
export function quantileType7(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * p;
  const lower = Math.floor(h);
  const upper = Math.min(lower + 1, n - 1);
  return sorted[lower]! + (h - lower) * (sorted[upper]! - sorted[lower]!);
}

/** Summarises finite `values` (at least one). The SD divides by n − 1, and is 0 for one value. */
export function describeDistribution(values: readonly number[]): FeatureDistribution {
  const sorted = [...values].sort((a, b) => a - b);
  const count = sorted.length;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / count;
  const squares = sorted.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  return {
    count,
    mean,
    sd: count > 1 ? Math.sqrt(squares / (count - 1)) : 0,
    min: sorted[0]!,
    p05: quantileType7(sorted, 0.05),
    p25: quantileType7(sorted, 0.25),
    median: quantileType7(sorted, 0.5),
    p75: quantileType7(sorted, 0.75),
    p95: quantileType7(sorted, 0.95),
    max: sorted[count - 1]!,
  };
}
