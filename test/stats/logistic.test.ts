/**
 * Logistic regression and recalibration against R 4.2.2 `glm(label ~ x1 + x2 + x3, family =
 * binomial)` and `glm(y ~ qlogis(p), family = binomial)` (test/stats/r/discrimination.R).
 * Tolerance: 1e-8 relative, 1e-12 absolute floor; the iteration count must be equal.
 */
import { describe, expect, it } from 'vitest';

import { expectCohortError } from './support/cohort-error.js';
import {
  COHORT_NAMES,
  R_REFERENCE,
  expectAllCloseToR,
  expectCloseToR,
  readCohort,
} from './support/r-reference.js';
import { fitLogistic, logisticRecalibration } from '../../src/stats/logistic.js';

describe.each(COHORT_NAMES)('logistic fits of cohort %s against glm', (name) => {
  const cohort = readCohort(name);
  const reference = R_REFERENCE.cohorts[name];
  const design = cohort.x1.map((x1, i) => [x1, cohort.x2[i]!, cohort.x3[i]!]);

  it('fitLogistic matches summary(glm)', () => {
    const fit = fitLogistic(design, cohort.labels, { intercept: true });
    const expected = reference.logistic;
    expectAllCloseToR(fit.coefficients, expected.coefficients, 'coefficient');
    expectAllCloseToR(fit.standardErrors, expected.standardErrors, 'standard error');
    expectAllCloseToR(fit.zValues, expected.zValues, 'z');
    expectAllCloseToR(fit.pValues, expected.pValues, 'p');
    expectCloseToR(fit.deviance, expected.deviance, 'deviance');
    expectCloseToR(fit.nullDeviance, expected.nullDeviance, 'null deviance');
    expectCloseToR(fit.aic, expected.aic, 'aic');
    expect(fit.iterations).toBe(expected.iterations);
    expect(fit.converged).toBe(expected.converged);
  });

  it('logisticRecalibration matches glm on qlogis(p)', () => {
    const recalibration = logisticRecalibration(cohort.probability, cohort.labels);
    expectCloseToR(recalibration.intercept, reference.recalibration.intercept, 'intercept');
    expectCloseToR(recalibration.slope, reference.recalibration.slope, 'slope');
  });
});

describe('logistic fit edge cases', () => {
  it('default stopping rule is why R is repeated step for step', () => {
    // On the small cohort, glm's default stop (epsilon 1e-8) leaves the intercept about 4e-9
    // relative from the fully converged estimate: the same order as the 1e-8 tolerance.
    const { coefficients } = R_REFERENCE.cohorts.small.logistic;
    const tight = R_REFERENCE.cohorts.small.logisticTightCoefficients;
    expect(Math.abs(coefficients[0]! - tight[0]!) / Math.abs(tight[0]!)).toBeGreaterThan(1e-9);
  });

  it('complete separation throws', () => {
    const design = [[-3], [-2], [-1], [1], [2], [3]];
    expectCohortError(() => fitLogistic(design, [0, 0, 0, 1, 1, 1]), 'numerically 0 or 1');
  });

  it('quasi-complete separation throws', () => {
    // Cases at x = 0 are mixed; all others are separated by the sign of x.
    // R 4.2.2 converges here without a warning (slope 9.74, standard error 3648).
    const design = [[-3], [-2], [0], [0], [2], [3]];
    expectCohortError(() => fitLogistic(design, [0, 0, 0, 1, 1, 1]), 'keeps growing after the fit converged');
  });

  it('duplicated feature throws', () => {
    const design = [
      [1, 2],
      [2, 4],
      [3, 6],
      [4, 8],
      [5, 10],
    ];
    expectCohortError(() => fitLogistic(design, [0, 1, 0, 1, 1]), 'feature 2 is a linear combination');
  });

  it('too few cases and ragged rows', () => {
    expectCohortError(() => fitLogistic([[1], [2]], [0, 1]), 'needs more than 2 cases');
    expectCohortError(() => fitLogistic([[1], [2, 3], [4]], [0, 1, 1]), 'Design row 2 has 2 values');
  });

  it('recalibration rejects a probability of 1', () => {
    expectCohortError(() => logisticRecalibration([0.2, 1, 0.4], [0, 1, 1]), 'strictly between 0 and 1');
  });

  it('fit without intercept on a symmetric cohort', () => {
    // Without an intercept the null model is μ = 1/2, so the null deviance is 6 · 2 log 2; at the
    // estimate the score Σ x(y − μ) vanishes.
    const design = [[-2], [-1], [1], [2], [1], [-1]];
    const labels = [0, 0, 1, 1, 0, 1];
    const fit = fitLogistic(design, labels, { intercept: false });
    expect(fit.coefficients).toHaveLength(1);
    expect(fit.nullDeviance).toBeCloseTo(6 * 2 * Math.log(2), 12);
    const score = design.reduce(
      (sum, [x], i) => sum + x! * (labels[i]! - 1 / (1 + Math.exp(-x! * fit.coefficients[0]!))),
      0,
    );
    expect(Math.abs(score)).toBeLessThan(1e-6);
  });
});
