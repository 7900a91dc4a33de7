/**
 * Kaplan–Meier estimates against R `survfit(Surv(time, event) ~ 1)` and `~ group` (R 4.2.2,
 * survival 3.5.3; reference written by test/stats/r/survival.R). Tolerance: 1e-8 relative, 1e-12
 * absolute near 0; counts and times exactly.
 */
import { describe, expect, it } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { kaplanMeier, kaplanMeierByGroup, type KaplanMeierResult } from '../../src/stats/kaplan-meier.js';
import {
  expectAllClose,
  expectClose,
  readCohort,
  readReference,
  type KaplanMeierReference,
} from './support/survival-reference.js';

const reference = readReference();
const cohorts = {
  tied: readCohort('survival-tied-n80'),
  exponential: readCohort('survival-exponential-n300'),
  half: readCohort('survival-half-n30'),
};

function expectMatchesSurvfit(
  result: KaplanMeierResult,
  expected: KaplanMeierReference,
  label: string,
): void {
  const steps = result.steps;
  expect(steps.map((step) => step.time)).toEqual(expected.time);
  expect(steps.map((step) => step.atRisk)).toEqual(expected.atRisk);
  expect(steps.map((step) => step.events)).toEqual(expected.events);
  expect(steps.map((step) => step.censored)).toEqual(expected.censored);
  expectAllClose(
    steps.map((step) => step.survival),
    expected.survival,
    `${label} survival`,
  );
  expectAllClose(
    steps.map((step) => step.standardError),
    expected.standardError,
    `${label} standard error`,
  );
  expectAllClose(
    steps.map((step) => step.lower),
    expected.lower,
    `${label} lower`,
  );
  expectAllClose(
    steps.map((step) => step.upper),
    expected.upper,
    `${label} upper`,
  );

  expect(result.median).not.toBeNull();
  expectClose(result.median!.value, expected.median.value, `${label} median`);
  expectClose(result.median!.lower, expected.median.lower, `${label} median lower`);
  expectClose(result.median!.upper, expected.median.upper, `${label} median upper`);
}

describe('kaplanMeier against survfit', () => {
  it.each(['tied', 'exponential', 'half'] as const)('%s cohort', (name) => {
    const cohort = cohorts[name];
    const result = kaplanMeier(
      cohort.map((row) => row.time),
      cohort.map((row) => row.event),
    );
    expectMatchesSurvfit(result, reference.kaplanMeier[name], name);
  });

  it('tied cohort at level 0.90', () => {
    const cohort = cohorts.tied;
    const result = kaplanMeier(
      cohort.map((row) => row.time),
      cohort.map((row) => row.event),
      0.9,
    );
    expect(result.level).toBe(0.9);
    expectMatchesSurvfit(result, reference.kaplanMeier.tiedLevel90, 'tied 0.90');
  });

  it('median at S = 0.5 over an interval is the midpoint', () => {
    // The 15th death (day 708) brings S to exactly 15/30; day 715 is censored; day 898 is a death.
    const cohort = cohorts.half;
    const result = kaplanMeier(
      cohort.map((row) => row.time),
      cohort.map((row) => row.event),
    );
    const atHalf = result.steps.find((step) => step.time === 708);
    expect(atHalf?.survival).toBeCloseTo(0.5, 14);
    expect(result.median?.value).toBe((708 + 898) / 2);
    expect(reference.kaplanMeier.half.median.value).toBe(803);
  });

  it('zero survival gives null limits', () => {
    // Last case of the n = 30 cohort is a death, so S falls to 0 and R reports NA limits.
    const cohort = cohorts.half;
    const result = kaplanMeier(
      cohort.map((row) => row.time),
      cohort.map((row) => row.event),
    );
    const last = result.steps.at(-1)!;
    expect(last.survival).toBe(0);
    expect(last.standardError).toBeNull();
    expect(last.lower).toBeNull();
    expect(last.upper).toBeNull();
  });

  it('median not reached is null', () => {
    const result = kaplanMeier([10, 20, 30, 40, 50], [1, 0, 0, 1, 0]);
    expect(result.steps.at(-1)?.survival).toBeCloseTo(0.8 * (1 - 1 / 2), 14);
    expect(kaplanMeier([10, 20, 30, 40], [1, 0, 0, 0]).median).toBeNull();
  });

  it('hand-computed small cohort', () => {
    // Times 1, 2, 2+, 3: S(1) = 3/4, S(2) = 3/4 · 2/3 = 1/2, S(3) = 0.
    // Greenwood at 1: 1/(4·3) = 1/12, se = 0.75 · sqrt(1/12).
    const result = kaplanMeier([1, 2, 2, 3], [1, 1, 0, 1]);
    expect(result.steps.map((step) => step.survival)).toEqual([0.75, 0.5, 0]);
    expect(result.steps[0]!.standardError).toBeCloseTo(0.75 * Math.sqrt(1 / 12), 15);
    expect(result.steps[1]!.censored).toBe(1);
    // S = 0.5 from time 2 until it drops at 3: median (2 + 3) / 2.
    expect(result.median?.value).toBe(2.5);
  });

  it('rejects a level outside (0, 1)', () => {
    expect(() => kaplanMeier([1, 2], [1, 0], 1)).toThrow(TypeError);
  });
});

describe('kaplanMeierByGroup against survfit ~ group', () => {
  it.each(['tied', 'exponential'] as const)('%s cohort', (name) => {
    const cohort = cohorts[name];
    const groups = kaplanMeierByGroup(
      cohort.map((row) => row.time),
      cohort.map((row) => row.event),
      cohort.map((row) => row.group),
    );
    const expected = reference.kaplanMeierByGroup[name];
    expect(groups.map((group) => group.group)).toEqual(expected.map((group) => group.group));
    groups.forEach((group, index) => {
      expect(group.n).toBe(expected[index]!.n);
      expectMatchesSurvfit(group, expected[index]!, `${name} ${group.group}`);
    });
  });

  it('rejects a single group', () => {
    try {
      kaplanMeierByGroup([1, 2, 3], [1, 0, 1], ['low', 'low', 'low']);
      expect.fail('expected an error');
    } catch (error) {
      expect(error).toBeInstanceOf(Nqo1Error);
      expect((error as Nqo1Error).code).toBe('ERR_CALIBRATION_COHORT');
      expect((error as Nqo1Error).message).toContain('at least 2 groups');
    }
  });
});
