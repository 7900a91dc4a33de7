/**
 * Descriptive summary of one feature over a cohort: count, mean, sample standard deviation and
 * quantiles (R's default type 7, quantile.ts), kept on a site card so that later cases can be
 * compared with the calibration cohort.
 */
import type { FeatureDistribution } from '../model/card-schema.js';
import { quantileType7 } from './quantile.js';

/** Summarises finite `values` (at least one). The SD divides by n − 1, and is 0 for one value. */
export function describeDistribution(values: readonly number[]): FeatureDistribution {
  const count = values.length;
  const mean = values.reduce((sum, value) => sum + value, 0) / count;
  const squares = values.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  const [min, p05, p25, median, p75, p95, max] = quantileType7(values, [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1]);
  return {
    count,
    mean,
    sd: count > 1 ? Math.sqrt(squares / (count - 1)) : 0,
    min: min!,
    p05: p05!,
    p25: p25!,
    median: median!,
    p75: p75!,
    p95: p95!,
    max: max!,
  };
}
