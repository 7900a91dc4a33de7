/**
 * Cox regression against R `coxph(Surv(time, event) ~ …)` and `summary()` (ties = "efron"; R 4.2.2,
 * survival 3.5.3; reference written by test/stats/r/survival.R). Tolerance: 1e-8 relative, 1e-12
 * absolute near 0; iteration counts and concordance pair counts exactly.
 */
import { describe, expect, it } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { coxRegression } from '../../src/stats/cox.js';
import { logRank } from '../../src/stats/log-rank.js';
import { expectAllClose, expectClose, readCohort, readReference } from './support/survival-reference.js';
import type { SurvivalCase } from './support/survival-datasets.js';

const reference = readReference();
const cohorts = {
  tied: readCohort('survival-tied-n80'),
  exponential: readCohort('survival-exponential-n300'),
  half: readCohort('survival-half-n30'),
};

function high(row: SurvivalCase): number {
  return row.group === 'high' ? 1 : 0;
}

const cases = [
  ['tiedGroup', 'tied', (row: SurvivalCase) => [high(row)]],
  ['tiedGroupScore', 'tied', (row: SurvivalCase) => [high(row), row.score]],
  ['exponentialGroup', 'exponential', (row: SurvivalCase) => [high(row)]],
  ['exponentialGroupScore', 'exponential', (row: SurvivalCase) => [high(row), row.score]],
  ['halfGroupScore', 'half', (row: SurvivalCase) => [high(row), row.score]],
] as const;

describe('coxRegression against coxph', () => {
  it.each(cases)('%s', (key, cohortName, covariatesOf) => {
    const cohort = cohorts[cohortName];
    const expected = reference.cox[key];
    const result = coxRegression(
      cohort.map((row) => row.time),
      cohort.map((row) => row.event),
      cohort.map(covariatesOf),
    );

    expectAllClose(result.coefficients, expected.coefficients, `${key} coef`);
    expectAllClose(result.hazardRatios, expected.hazardRatios, `${key} exp(coef)`);
    expectAllClose(result.standardErrors, expected.standardErrors, `${key} se(coef)`);
    expectAllClose(result.zValues, expected.zValues, `${key} z`);
    expectAllClose(result.pValues, expected.pValues, `${key} Pr(>|z|)`);
    expectAllClose(
      result.ci.map((limits) => limits.lower),
      expected.ciLower,
      `${key} lower .95`,
    );
    expectAllClose(
      result.ci.map((limits) => limits.upper),
      expected.ciUpper,
      `${key} upper .95`,
    );
    expected.variance.forEach((row, index) => {
      expectAllClose(result.variance[index]!, row, `${key} var row ${index}`);
    });
    expectAllClose(result.logLikelihood, expected.logLikelihood, `${key} loglik`);

    for (const test of ['likelihoodRatio', 'wald', 'score'] as const) {
      expectClose(result[test].statistic, expected[test].statistic, `${key} ${test} statistic`);
      expect(result[test].df).toBe(expected[test].df);
      expectClose(result[test].pValue, expected[test].pValue, `${key} ${test} p`);
    }
    expect(result.iterations).toBe(expected.iterations);

    const { value, ...counts } = result.concordance;
    const { value: expectedValue, ...expectedCounts } = expected.concordance;
    expect(counts).toEqual(expectedCounts);
    expectClose(value, expectedValue, `${key} concordance`);
  });

  it('score test equals log-rank without tied deaths', () => {
    // Without tied death times the Cox score test of a binary covariate is the log-rank statistic.
    // The n = 30 cohort has distinct times.
    const cohort = cohorts.half;
    const result = coxRegression(
      cohort.map((row) => row.time),
      cohort.map((row) => row.event),
      cohort.map((row) => [high(row)]),
    );
    const test = logRank(
      cohort.map((row) => row.time),
      cohort.map((row) => row.event),
      cohort.map((row) => row.group),
    );
    expect(result.score.df).toBe(1);
    expect(Math.abs(result.score.statistic - test.statistic)).toBeLessThan(1e-12 * test.statistic);
  });

  it('reports monotone likelihood as an error', () => {
    // R fits coefficient ≈ -22 here and only warns that it may be infinite.
    const monotone = reference.monotone;
    expect(monotone.warning).toContain('coefficient may be infinite');
    expect(monotone.coefficient).toBeLessThan(-15);
    try {
      coxRegression(
        monotone.time,
        monotone.event,
        monotone.high.map((value) => [value]),
      );
      expect.fail('expected an error');
    } catch (error) {
      expect(error).toBeInstanceOf(Nqo1Error);
      expect((error as Nqo1Error).code).toBe('ERR_CALIBRATION_COHORT');
      expect((error as Nqo1Error).message).toContain('Covariate 1 has an infinite Cox coefficient');
    }
  });

  it('rejects a constant covariate', () => {
    expect(() => coxRegression([1, 2, 3, 4], [1, 1, 0, 1], [[1], [1], [1], [1]])).toThrow(
      /information matrix of the 1 Cox covariate\(s\) is singular/,
    );
  });

  it('rejects collinear covariates', () => {
    const covariates = [0, 1, 0, 1, 1, 0].map((value) => [value, 2 * value + 1]);
    expect(() => coxRegression([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], covariates)).toThrow(Nqo1Error);
  });
});
