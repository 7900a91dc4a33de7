/**
 * Hosmer–Lemeshow test and type-7 quantiles against base R 4.2.2 code that repeats
 * ResourceSelection::hoslem.test (test/stats/r/discrimination.R). Tolerance: 1e-8 relative,
 * 1e-12 absolute floor (R computes the p-value as 1 − pchisq, which loses digits below 1e-16);
 * group counts and quantile breaks must match.
 */
import { describe, expect, it } from 'vitest';

import { expectCohortError } from './support/cohort-error.js';
import {
  COHORT_NAMES,
  R_REFERENCE,
  expectAllCloseToR,
  expectCloseToR,
  readCohort,
  type RHosmerLemeshow,
} from './support/r-reference.js';
import { hosmerLemeshow, type HosmerLemeshowResult } from '../../src/stats/hosmer-lemeshow.js';
import { equalStepProbabilities, quantileType7 } from '../../src/stats/quantile.js';

function expectLikeR(actual: HosmerLemeshowResult, expected: RHosmerLemeshow): void {
  const breaks = [actual.groups[0]!.lower, ...actual.groups.map((group) => group.upper)];
  // The breaks decide group membership, so they must be the same doubles, not merely close.
  expect(breaks).toEqual(expected.breaks);
  expect(actual.groups.map((group) => group.count)).toEqual(expected.count);
  expect(actual.groups.map((group) => group.observed)).toEqual(expected.observed);
  expectAllCloseToR(
    actual.groups.map((group) => group.expected),
    expected.expected,
    'expected',
  );
  expectAllCloseToR(
    actual.groups.map((group) => group.meanPredicted),
    expected.meanPredicted,
    'mean predicted',
  );
  expectAllCloseToR(
    actual.groups.map((group) => group.observedRate),
    expected.observedRate,
    'observed rate',
  );
  expectCloseToR(actual.statistic, expected.statistic, 'statistic');
  expect(actual.degreesOfFreedom).toBe(expected.degreesOfFreedom);
  expectCloseToR(actual.pValue, expected.pValue, 'p-value');
}

describe.each(COHORT_NAMES)('Hosmer-Lemeshow of cohort %s against R', (name) => {
  const cohort = readCohort(name);
  const reference = R_REFERENCE.cohorts[name];

  it('10 and 5 groups', () => {
    expect(reference.hosmerLemeshow.map((r) => r.groupsRequested)).toEqual([10, 5]);
    for (const expected of reference.hosmerLemeshow) {
      expectLikeR(hosmerLemeshow(cohort.probability, cohort.labels, expected.groupsRequested), expected);
    }
  });
});

describe('Hosmer-Lemeshow with tied probabilities', () => {
  it('merged groups of the small cohort', () => {
    const cohort = readCohort('small');
    const expected = R_REFERENCE.cohorts.small.hosmerLemeshowCoarse;
    const actual = hosmerLemeshow(cohort.probabilityCoarse, cohort.labels, 10);
    expect(actual.groups).toHaveLength(6);
    expect(actual.degreesOfFreedom).toBe(8);
    expectLikeR(actual, expected);
  });

  it('empty group throws where R gives NaN', () => {
    for (const name of ['separated', 'tied'] as const) {
      const cohort = readCohort(name);
      expect(R_REFERENCE.cohorts[name].hosmerLemeshowCoarse.statistic).toBeNaN();
      expect(R_REFERENCE.cohorts[name].hosmerLemeshowCoarse.count).toContain(0);
      expectCohortError(
        () => hosmerLemeshow(cohort.probabilityCoarse, cohort.labels, 10),
        'contains no case',
      );
    }
  });
});

describe('quantileType7', () => {
  it('seq(0, 1, 1/10) steps', () => {
    const steps = equalStepProbabilities(10);
    expect(steps).toHaveLength(11);
    expect(steps[3]).toBe(0.30000000000000004);
    expect(steps[10]).toBe(1);
  });

  it('interpolates between order statistics', () => {
    // n = 5, p = 0.3: h = 1 + 4·0.3 ≈ 2.2, so about 0.8·x(2) + 0.2·x(3) = 0.8·2 + 0.2·10 = 3.6.
    // 4·0.3 rounds up, so R 4.2.2 gives quantile(c(10, 1, 2, 20, 30), c(0, 0.3, 0.5, 1)) as
    // 1, 3.6000000000000014, 10, 30, and the values must agree exactly.
    expect(quantileType7([10, 1, 2, 20, 30], [0, 0.3, 0.5, 1])).toEqual([1, 3.6000000000000014, 10, 30]);
  });
});

describe('Hosmer-Lemeshow input checks', () => {
  it('rejects probabilities outside [0, 1]', () => {
    expectCohortError(() => hosmerLemeshow([0.2, 1.3, 0.5], [0, 1, 1]), 'probability of case 2 is 1.3');
  });

  it('rejects fewer than 3 groups', () => {
    expectCohortError(() => hosmerLemeshow([0.2, 0.3, 0.5], [0, 1, 1], 2), 'at least 3');
  });

  it('rejects constant probabilities', () => {
    expectCohortError(() => hosmerLemeshow([0.4, 0.4, 0.4], [0, 1, 1]), 'All 3 probabilities equal 0.4');
  });
});
