/**
 * Input checks shared by the binary-outcome statistics (ROC, thresholds, calibration, logistic
 * fits): one label per case, 1 for the positive class (high NQO1) and 0 for the negative class,
 * and one finite score or probability per case.
 */

import { Nqo1Error } from '../errors.js';

/** Case counts of a validated cohort. */
export interface ClassCounts {
  /** Cases with label 1 (high NQO1). */
  readonly positives: number;
  /** Cases with label 0. */
  readonly negatives: number;
}

function cohortError(message: string): Nqo1Error {
  return new Nqo1Error('ERR_CALIBRATION_COHORT', message);
}

/**
 * Checks that `values` and `labels` have the same length, that every value is finite, that every
 * label is 0 or 1 and that each class has at least `minimumPerClass` cases.
 *
 * @param valueName - what the values are, for the message ("score", "probability").
 * @throws Nqo1Error ERR_CALIBRATION_COHORT naming the first problem and its fix.
 */
export function validateBinaryOutcome(
  values: readonly number[],
  labels: readonly number[],
  valueName: string,
  minimumPerClass = 1,
): ClassCounts {
  if (values.length !== labels.length) {
    throw cohortError(
      `Got ${values.length} ${valueName} values but ${labels.length} labels. Give one ${valueName} and one label per case.`,
    );
  }

  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (!Number.isFinite(value)) {
      throw cohortError(
        `The ${valueName} of case ${i + 1} is ${value}, not a finite number. Remove the case or compute its ${valueName}.`,
      );
    }
  }
  return validateLabels(labels, minimumPerClass);
}

/**
 * Checks that every label is 0 or 1 and that each class has at least `minimumPerClass` cases.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT naming the first bad label or the missing class.
 */
export function validateLabels(labels: readonly number[], minimumPerClass = 1): ClassCounts {
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label === 1) positives++;
    else if (label === 0) negatives++;
    else {
      throw cohortError(
        `The label of case ${i + 1} is ${label}; labels must be 1 (high NQO1) or 0 (low NQO1). Correct the label.`,
      );
    }
  }

  if (positives < minimumPerClass || negatives < minimumPerClass) {
    throw cohortError(
      `The cohort has ${positives} positive and ${negatives} negative cases; this statistic needs at least ` +
        `${minimumPerClass} of each class. Add cases of the missing class.`,
    );
  }
  return { positives, negatives };
}

/**
 * Checks that every probability lies in [0, 1] (open interval (0, 1) when `open` is true, as a
 * logit transform needs).
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT naming the first probability out of range.
 */
export function validateProbabilities(probabilities: readonly number[], open = false): void {
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    const inside = open ? p > 0 && p < 1 : p >= 0 && p <= 1;
    if (!inside) {
      const range = open ? 'strictly between 0 and 1' : 'between 0 and 1';
      throw cohortError(
        `The probability of case ${i + 1} is ${p}; it must lie ${range}. Pass model probabilities, not scores.`,
      );
    }
  }
}
