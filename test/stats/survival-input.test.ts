/** Input checks shared by the survival statistics: each bad input throws ERR_CALIBRATION_COHORT. */
import { describe, expect, it } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { coxRegression } from '../../src/stats/cox.js';
import { kaplanMeier } from '../../src/stats/kaplan-meier.js';
import { logRank } from '../../src/stats/log-rank.js';

function expectCohortError(run: () => unknown, fragment: string): void {
  try {
    run();
    expect.fail('expected an error');
  } catch (error) {
    expect(error).toBeInstanceOf(Nqo1Error);
    expect((error as Nqo1Error).code).toBe('ERR_CALIBRATION_COHORT');
    expect((error as Nqo1Error).message).toContain(fragment);
  }
}

describe('survival input checks', () => {
  it.each([
    ['unequal lengths', [1, 2, 3], [1, 0], '3 survival times but 2 event indicators'],
    ['no cases', [], [], 'no cases with survival data'],
    ['negative time', [1, -2], [1, 0], 'Case 2 has survival time -2'],
    ['NaN time', [Number.NaN, 2], [1, 0], 'Case 1 has survival time NaN'],
    ['infinite time', [1, Infinity], [1, 0], 'Case 2 has survival time Infinity'],
    ['event 2', [1, 2], [1, 2], 'Case 2 has event indicator 2'],
    ['no event', [1, 2], [0, 0], 'None of the 2 cases has an event'],
  ])('kaplanMeier rejects %s', (_name, times, events, fragment) => {
    expectCohortError(() => kaplanMeier(times, events), fragment);
  });

  it('logRank rejects a missing group label', () => {
    expectCohortError(() => logRank([1, 2, 3], [1, 0, 1], ['a', 'b']), '3 survival times but 2 group labels');
  });

  it('logRank rejects an empty group label', () => {
    expectCohortError(() => logRank([1, 2, 3], [1, 0, 1], ['a', '', 'b']), 'Case 2 has an empty group label');
  });

  it('logRank rejects one group', () => {
    expectCohortError(() => logRank([1, 2, 3], [1, 0, 1], ['a', 'a', 'a']), 'at least 2 groups');
  });

  it('coxRegression rejects ragged covariates', () => {
    expectCohortError(
      () => coxRegression([1, 2, 3], [1, 0, 1], [[1], [0, 2], [1]]),
      'Case 2 has 2 covariates but case 1 has 1',
    );
  });

  it('coxRegression rejects a NaN covariate', () => {
    expectCohortError(
      () => coxRegression([1, 2, 3], [1, 0, 1], [[1], [Number.NaN], [0]]),
      'Case 2 has covariate 1 = NaN',
    );
  });

  it('coxRegression rejects missing covariates', () => {
    expectCohortError(() => coxRegression([1, 2, 3], [1, 0, 1], [[], [], []]), 'no covariate');
    expectCohortError(() => coxRegression([1, 2, 3], [1, 0, 1], [[1], [0]]), '2 covariate rows');
  });
});
