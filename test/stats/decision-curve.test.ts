/**
 * Decision curves against the Vickers & Elkin formulas written in base R 4.2.2
 * (test/stats/r/discrimination.R), thresholds (1:99)/100. Tolerance: 1e-8 relative, 1e-12
 * absolute floor (net benefits cross 0).
 */
import { describe, expect, it } from 'vitest';

import { expectCohortError } from './support/cohort-error.js';
import { COHORT_NAMES, R_REFERENCE, expectAllCloseToR, readCohort } from './support/r-reference.js';
import { DEFAULT_DECISION_THRESHOLDS, decisionCurve } from '../../src/stats/decision-curve.js';

describe.each(COHORT_NAMES)('decision curve of cohort %s against R', (name) => {
  const cohort = readCohort(name);
  const reference = R_REFERENCE.cohorts[name];

  it('default thresholds are R (1:99)/100', () => {
    expect(DEFAULT_DECISION_THRESHOLDS).toEqual(reference.decisionCurve.thresholds);
  });

  it('net benefit of model and treat-all', () => {
    for (const [probabilities, expected] of [
      [cohort.probability, reference.decisionCurve],
      [cohort.probabilityCoarse, reference.decisionCurveCoarse],
    ] as const) {
      const rows = decisionCurve(probabilities, cohort.labels);
      expect(rows).toHaveLength(99);
      expectAllCloseToR(
        rows.map((row) => row.netBenefitModel),
        expected.netBenefitModel,
        'model',
      );
      expectAllCloseToR(
        rows.map((row) => row.netBenefitTreatAll),
        expected.netBenefitTreatAll,
        'treat all',
      );
      expect(new Set(rows.map((row) => row.netBenefitTreatNone))).toEqual(new Set([0]));
    }
  });
});

describe('decision curve by hand', () => {
  it('probability equal to the threshold is treated', () => {
    // n = 4, threshold 0.5 (odds 1): treated 0.5 (label 0) and 0.8 (label 1) give NB = 1/4 − 1/4 = 0;
    // treat all: prevalence 0.5 − 0.5 · 1 = 0.
    const [row] = decisionCurve([0.2, 0.5, 0.8, 0.4], [0, 0, 1, 1], [0.5]);
    expect(row).toEqual({
      threshold: 0.5,
      netBenefitModel: 0,
      netBenefitTreatAll: 0,
      netBenefitTreatNone: 0,
    });
  });

  it('rejects a threshold of 1', () => {
    expectCohortError(() => decisionCurve([0.2, 0.8], [0, 1], [0.5, 1]), 'threshold 1 lies outside (0, 1)');
  });
});
