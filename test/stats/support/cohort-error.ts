/** Assertion for the ERR_CALIBRATION_COHORT errors of the binary-outcome statistics. */
import { expect } from 'vitest';

import { isNqo1Error } from '../../../src/errors.js';

/** Asserts that `run` throws Nqo1Error ERR_CALIBRATION_COHORT whose message contains `messagePart`. */
export function expectCohortError(run: () => unknown, messagePart: string): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(
    isNqo1Error(thrown, 'ERR_CALIBRATION_COHORT'),
    `expected ERR_CALIBRATION_COHORT, got ${String(thrown)}`,
  ).toBe(true);
  expect((thrown as Error).message).toContain(messagePart);
}
