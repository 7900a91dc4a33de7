/**
 * Feature distribution summary against R 4.2.2: quantile(x, c(.05, .25, .5, .75, .95)) (type 7),
 * mean(x) and sd(x) for x = c(3.2, -1, 7.5, 0.25, 12, 4, 4, 9.75, -3.5, 2). Tolerance 1e-12 relative.
 */
import { describe, expect, it } from 'vitest';

import { describeDistribution } from '../../src/stats/summary.js';

describe('describeDistribution', () => {
  it('matches R quantile type 7, mean and sd', () => {
    const summary = describeDistribution([3.2, -1, 7.5, 0.25, 12, 4, 4, 9.75, -3.5, 2]);
    const expected = {
      count: 10,
      mean: 3.82,
      sd: 4.818263864367192,
      min: -3.5,
      p05: -2.375,
      p25: 0.6875,
      median: 3.6,
      p75: 6.625,
      p95: 10.987499999999997,
      max: 12,
    };
    for (const [key, value] of Object.entries(expected)) {
      const actual = summary[key as keyof typeof summary];
      expect(Math.abs(actual - value), key).toBeLessThanOrEqual(1e-12 * Math.abs(value));
    }
  });

  it('gives sd 0 for one value', () => {
    expect(describeDistribution([5])).toMatchObject({ count: 1, sd: 0, median: 5, p95: 5, min: 5, max: 5 });
  });
});
