/**
 * Threshold metrics against base R (p >= threshold) and the Youden optimum against pROC 1.18.0
 * `coords(roc, "best", best.method = "youden")`, reference values from test/stats/r/discrimination.R.
 * Tolerance: 1e-8 relative, 1e-12 absolute floor; confusion counts must be equal.
 */
import { describe, expect, it } from 'vitest';

import { expectCohortError } from './support/cohort-error.js';
import {
  COHORT_NAMES,
  R_REFERENCE,
  expectCloseToR,
  readCohort,
  type RYoudenRow,
} from './support/r-reference.js';
import { metricsAtThreshold, youdenOptimum, type YoudenOptimum } from '../../src/stats/threshold-metrics.js';

function expectYoudenLike(actual: YoudenOptimum, expected: RYoudenRow): void {
  expectCloseToR(actual.threshold, expected.threshold, 'threshold');
  expectCloseToR(actual.sensitivity, expected.sensitivity, 'sensitivity');
  expectCloseToR(actual.specificity, expected.specificity, 'specificity');
  expectCloseToR(actual.accuracy, expected.accuracy, 'accuracy');
  expectCloseToR(actual.ppv, expected.ppv, 'ppv');
  expectCloseToR(actual.npv, expected.npv, 'npv');
  expectCloseToR(actual.youdenIndex + 1, expected.youden, 'youden + 1');
  // pROC recovers the counts as sensitivity · cases, so they are integers only up to rounding.
  expect(actual.tp).toBe(Math.round(expected.tp));
  expect(actual.fp).toBe(Math.round(expected.fp));
  expect(actual.tn).toBe(Math.round(expected.tn));
  expect(actual.fn).toBe(Math.round(expected.fn));
}

describe.each(COHORT_NAMES)('threshold metrics of cohort %s against R', (name) => {
  const cohort = readCohort(name);
  const reference = R_REFERENCE.cohorts[name];

  it('metricsAtThreshold at 0.404, 0.5 and 0.2', () => {
    expect(reference.thresholdMetrics).toHaveLength(3);
    for (const expected of reference.thresholdMetrics) {
      const actual = metricsAtThreshold(cohort.probability, cohort.labels, expected.threshold);
      expect([actual.tp, actual.fp, actual.tn, actual.fn]).toEqual([
        expected.tp,
        expected.fp,
        expected.tn,
        expected.fn,
      ]);
      expectCloseToR(actual.accuracy, expected.accuracy, 'accuracy');
      expectCloseToR(actual.sensitivity, expected.sensitivity, 'sensitivity');
      expectCloseToR(actual.specificity, expected.specificity, 'specificity');
      expectCloseToR(actual.ppv, expected.ppv, 'ppv');
      expectCloseToR(actual.npv, expected.npv, 'npv');
    }
  });

  it('youdenOptimum of score A and of the probability', () => {
    expect(reference.youden).toHaveLength(1);
    const actual = youdenOptimum(cohort.scoreA, cohort.labels);
    expectYoudenLike(actual, reference.youden[0]!);
    expect(actual.tiedThresholds).toHaveLength(1);
    expectYoudenLike(youdenOptimum(cohort.probability, cohort.labels), reference.youdenProbability[0]!);
  });

  it('youdenOptimum ties of score B', () => {
    const actual = youdenOptimum(cohort.scoreB, cohort.labels);
    const expectedRows = reference.youdenB;
    expect(actual.tiedThresholds).toHaveLength(expectedRows.length);
    expectedRows.forEach((row, k) => {
      expectCloseToR(actual.tiedThresholds[k]!, row.threshold, `tied threshold ${k}`);
    });
    expectYoudenLike(actual, expectedRows[0]!);
  });
});

describe('threshold metrics edge cases', () => {
  it('ties between optima exist in the fixtures', () => {
    expect(R_REFERENCE.cohorts.separated.youdenB).toHaveLength(3);
    expect(R_REFERENCE.cohorts.tied.youdenB).toHaveLength(2);
  });

  it('probability equal to the threshold is positive', () => {
    // Cases 0.3 (label 1) and 0.3 (label 0) are both called positive at 0.3.
    const metrics = metricsAtThreshold([0.1, 0.3, 0.3, 0.7], [0, 1, 0, 1], 0.3);
    expect(metrics).toEqual({
      threshold: 0.3,
      accuracy: 0.75,
      sensitivity: 1,
      specificity: 0.5,
      ppv: 2 / 3,
      npv: 1,
      tp: 2,
      fp: 1,
      tn: 1,
      fn: 0,
    });
  });

  it('ppv is NaN with no positive call', () => {
    const metrics = metricsAtThreshold([0.1, 0.2], [0, 1], 0.9);
    expect(metrics.ppv).toBeNaN();
    expect(metrics.npv).toBe(0.5);
  });

  it('rejects a NaN threshold and a single class', () => {
    expectCohortError(() => metricsAtThreshold([0.1, 0.2], [0, 1], Number.NaN), 'threshold is NaN');
    expectCohortError(() => youdenOptimum([0.1, 0.2], [0, 0]), '0 positive and 2 negative');
  });
});
