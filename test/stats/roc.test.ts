/**
 * ROC curve, DeLong AUC interval and paired DeLong test against pROC 1.18.0 on R 4.2.2
 * (reference values from test/stats/r/discrimination.R). Tolerance: 1e-8 relative, 1e-12 absolute
 * floor; the ROC thresholds, sensitivities and specificities must agree to the same tolerance.
 */
import { describe, expect, it } from 'vitest';

import { expectCohortError } from './support/cohort-error.js';
import { aucDeLong, deLongTest, rocCurve, rocThresholds } from '../../src/stats/roc.js';
import {
  COHORT_NAMES,
  R_REFERENCE,
  expectAllCloseToR,
  expectCloseToR,
  readCohort,
} from './support/r-reference.js';

describe.each(COHORT_NAMES)('ROC statistics of cohort %s against pROC', (name) => {
  const cohort = readCohort(name);
  const reference = R_REFERENCE.cohorts[name];

  it('reads the same scores as R', () => {
    expect(cohort.scoreA).toEqual(reference.echo.scoreA);
    expect(cohort.scoreB).toEqual(reference.echo.scoreB);
    expect(cohort.probability).toEqual(reference.echo.probability);
  });

  it('rocCurve matches roc()', () => {
    const points = rocCurve(cohort.scoreA, cohort.labels);
    expectAllCloseToR(
      points.map((p) => p.threshold),
      reference.roc.thresholds,
      'threshold',
    );
    expectAllCloseToR(
      points.map((p) => p.sensitivity),
      reference.roc.sensitivities,
      'sensitivity',
    );
    expectAllCloseToR(
      points.map((p) => p.specificity),
      reference.roc.specificities,
      'specificity',
    );
  });

  it('aucDeLong matches ci.auc and var at two levels', () => {
    const cases = [
      ...reference.delongA.map((expected) => ({ expected, scores: cohort.scoreA })),
      ...reference.delongB.map((expected) => ({ expected, scores: cohort.scoreB })),
    ];
    expect(cases).toHaveLength(3);
    for (const { expected, scores } of cases) {
      const estimate = aucDeLong(scores, cohort.labels, expected.level);
      expectCloseToR(estimate.auc, expected.auc, 'auc');
      expectCloseToR(estimate.auc, expected.middle, 'ci middle');
      expectCloseToR(estimate.variance, expected.variance, 'variance');
      expectCloseToR(estimate.ci.lower, expected.lower, 'ci lower');
      expectCloseToR(estimate.ci.upper, expected.upper, 'ci upper');
      expect(estimate.ci.level).toBe(expected.level);
    }
  });

  it('deLongTest matches roc.test paired', () => {
    const expected = reference.pairedTest;
    const result = deLongTest(cohort.scoreA, cohort.scoreB, cohort.labels);
    expectCloseToR(result.aucA, expected.aucA, 'aucA');
    expectCloseToR(result.aucB, expected.aucB, 'aucB');
    expectCloseToR(result.z, expected.z, 'z');
    expectCloseToR(result.pValue, expected.pValue, 'p');
    expectCloseToR(result.differenceCi.lower, expected.lower, 'difference lower');
    expectCloseToR(result.differenceCi.upper, expected.upper, 'difference upper');
  });
});

describe('ROC edge cases', () => {
  it('CI clipped to 1 on the separated cohort', () => {
    const cohort = readCohort('separated');
    expect(aucDeLong(cohort.scoreA, cohort.labels).ci.upper).toBe(1);
  });

  it('thresholds of tied scores', () => {
    // Distinct sorted scores 1, 2, 4 give midpoints 1.5 and 3 between −∞ and +∞.
    expect(rocThresholds([2, 1, 4, 2, 1])).toEqual([-Infinity, 1.5, 3, Infinity]);
  });

  it('threshold between adjacent doubles moves up', () => {
    // The midpoint of 1 and the next double rounds to 1; pROC moves it to the upper score.
    const next = 1 + Number.EPSILON;
    expect(rocThresholds([1, next])).toEqual([-Infinity, next, Infinity]);
    const curve = rocCurve([1, next], [0, 1]);
    expect(curve[1]).toEqual({ threshold: next, sensitivity: 1, specificity: 1 });
  });

  it('hand-computed curve and AUC with a tie', () => {
    // Controls 1, 2; cases 2, 3. ψ sums: case 2 → 1 + 0.5, case 3 → 2; θ = 3.5 / 4 = 0.875.
    const scores = [1, 2, 2, 3];
    const labels = [0, 0, 1, 1];
    expect(rocCurve(scores, labels)).toEqual([
      { threshold: -Infinity, sensitivity: 1, specificity: 0 },
      { threshold: 1.5, sensitivity: 1, specificity: 0.5 },
      { threshold: 2.5, sensitivity: 0.5, specificity: 1 },
      { threshold: Infinity, sensitivity: 0, specificity: 1 },
    ]);
    expect(aucDeLong(scores, labels).auc).toBe(0.875);
  });

  it('identical score columns give z 0 and p 1', () => {
    const cohort = readCohort('small');
    const result = deLongTest(cohort.scoreA, cohort.scoreA, cohort.labels);
    expect(result.z).toBe(0);
    expect(result.pValue).toBe(1);
  });

  it('rejects unequal lengths', () => {
    expectCohortError(() => rocCurve([1, 2, 3], [0, 1]), '3 score values but 2 labels');
  });

  it('rejects a missing class', () => {
    expectCohortError(() => rocCurve([1, 2], [1, 1]), '2 positive and 0 negative');
  });

  it('rejects NaN scores and labels other than 0/1', () => {
    expectCohortError(() => rocCurve([1, Number.NaN], [0, 1]), 'score of case 2 is NaN');
    expectCohortError(() => rocCurve([1, 2], [0, 2]), 'label of case 2 is 2');
  });

  it('DeLong needs two cases per class', () => {
    expectCohortError(() => aucDeLong([1, 2, 3], [0, 0, 1]), 'at least 2 of each class');
  });

  it('rejects a confidence level of 95', () => {
    expectCohortError(() => aucDeLong([1, 2, 3, 4], [0, 0, 1, 1], 95), 'level is 95');
  });
});
