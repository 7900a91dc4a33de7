/**
 * Log-rank test against R `survdiff(Surv(time, event) ~ group)` (rho = 0; R 4.2.2, survival
 * 3.5.3; reference written by test/stats/r/survival.R). Tolerance: 1e-8 relative, 1e-12 absolute
 * near 0; counts and degrees of freedom exactly.
 */
import { describe, expect, it } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { logRank } from '../../src/stats/log-rank.js';
import { expectAllClose, expectClose, readCohort, readReference } from './support/survival-reference.js';

const reference = readReference();
const cohorts = {
  tied: readCohort('survival-tied-n80'),
  exponential: readCohort('survival-exponential-n300'),
};

const cases = [
  ['tiedByGroup', 'tied', 'group'],
  ['tiedByStage', 'tied', 'stage'],
  ['exponentialByGroup', 'exponential', 'group'],
  ['exponentialByStage', 'exponential', 'stage'],
] as const;

describe('logRank against survdiff', () => {
  it.each(cases)('%s', (key, cohortName, column) => {
    const cohort = cohorts[cohortName];
    const expected = reference.logRank[key];
    const result = logRank(
      cohort.map((row) => row.time),
      cohort.map((row) => row.event),
      cohort.map((row) => row[column]),
    );

    expectClose(result.statistic, expected.statistic, `${key} chi-square`);
    expect(result.degreesOfFreedom).toBe(expected.degreesOfFreedom);
    expectClose(result.pValue, expected.pValue, `${key} p`);
    expect(result.groups.map((group) => group.group)).toEqual(expected.groups.map((group) => group.group));
    expect(result.groups.map((group) => group.n)).toEqual(expected.groups.map((group) => group.n));
    expect(result.groups.map((group) => group.observed)).toEqual(
      expected.groups.map((group) => group.observed),
    );
    expectAllClose(
      result.groups.map((group) => group.expected),
      expected.groups.map((group) => group.expected),
      `${key} expected`,
    );
    expected.variance.forEach((row, index) => {
      expectAllClose(result.variance[index]!, row, `${key} variance row ${index}`);
    });
  });

  it('three stages give two degrees of freedom', () => {
    expect(reference.logRank.tiedByStage.degreesOfFreedom).toBe(2);
    const cohort = cohorts.tied;
    const result = logRank(
      cohort.map((row) => row.time),
      cohort.map((row) => row.event),
      cohort.map((row) => row.stage),
    );
    expect(result.groups).toHaveLength(3);
    expect(result.degreesOfFreedom).toBe(2);
  });

  it('hand-computed two-group test', () => {
    // Group a dies at 1 and 3, group b at 2, b censored at 4. At t=1: n=4 (2+2), E_a = 1/2,
    // V = 1·3/3 · 1/2 · 1/2 = 1/4. At t=2: n=3 (a 1, b 2), E_a = 1/3, V = 1·2/2 · 1/3 · 2/3 = 2/9.
    // At t=3: n=2 (1+1), E_a = 1/2, V = 1·1/1 · 1/2 · 1/2 = 1/4.
    // O_a = 2, E_a = 4/3, V = 13/18, χ² = (2/3)² / (13/18) = 8/13.
    const result = logRank([1, 3, 2, 4], [1, 1, 1, 0], ['a', 'a', 'b', 'b']);
    expect(result.groups[0]!.expected).toBeCloseTo(4 / 3, 14);
    expect(result.variance[0]![0]).toBeCloseTo(13 / 18, 14);
    expect(result.statistic).toBeCloseTo(8 / 13, 14);
  });

  it('rejects a group with nobody at risk at any death', () => {
    // Group b leaves before the first death: E_b = 0, so only one group is informative.
    try {
      logRank([5, 6, 7, 1, 2], [1, 1, 0, 0, 0], ['a', 'a', 'a', 'b', 'b']);
      expect.fail('expected an error');
    } catch (error) {
      expect(error).toBeInstanceOf(Nqo1Error);
      expect((error as Nqo1Error).code).toBe('ERR_CALIBRATION_COHORT');
      expect((error as Nqo1Error).message).toContain('Only group a has cases at risk');
    }
  });
});
