/**
 * Checks of right-censored survival data before any survival statistic runs: one time and one
 * event indicator per case (time in days, event 1 = death, 0 = censored), optionally a group label
 * or covariate row per case.
 *
 * Every check throws Nqo1Error `ERR_CALIBRATION_COHORT` naming the case (1-based, in input order),
 * the bad value and the fix, because the cohort file is what the site has to correct.
 */
import { Nqo1Error } from '../errors.js';

/** Right-censored survival data as the statistics read it. */
export interface SurvivalData {
  /** Follow-up time of each case, finite and ≥ 0 (days in this product). */
  readonly times: readonly number[];
  /** Event indicator of each case: 1 = event (death), 0 = censored. */
  readonly events: readonly number[];
}

function cohortError(message: string): Nqo1Error {
  return new Nqo1Error('ERR_CALIBRATION_COHORT', message);
}

/**
 * Validates times and events: equal lengths, at least one case, finite non-negative times,
 * events exactly 0 or 1, and at least one event.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT on the first problem found.
 */
export function validateSurvivalData(times: readonly number[], events: readonly number[]): SurvivalData {
  if (times.length !== events.length) {
    throw cohortError(
      `The cohort has ${times.length} survival times but ${events.length} event indicators. ` +
        'Give one time and one event (1 = death, 0 = censored) for every case.',
    );
  }
  if (times.length === 0) {
    throw cohortError('The cohort has no cases with survival data. Add the time and event columns.');
  }

  for (let index = 0; index < times.length; index++) {
    const time = times[index]!;
    if (!Number.isFinite(time) || time < 0) {
      throw cohortError(
        `Case ${index + 1} has survival time ${String(time)}, which is not a finite number ≥ 0. ` +
          'Give the follow-up time in days from the reference date.',
      );
    }
    const event = events[index]!;
    if (event !== 0 && event !== 1) {
      throw cohortError(
        `Case ${index + 1} has event indicator ${String(event)}. Use 1 for death and 0 for censored.`,
      );
    }
  }

  if (!events.includes(1)) {
    throw cohortError(
      `None of the ${times.length} cases has an event (all are censored), so no survival statistic ` +
        'can be estimated. Check the event column: 1 = death, 0 = censored.',
    );
  }
  return { times, events };
}

/**
 * Validates one group label per case and returns the distinct labels in sorted order (JavaScript
 * string order, which equals R's factor-level order for ASCII labels such as "high"/"low" or "0"/"1").
 *
 * @param minimumGroups - How many distinct groups the statistic needs.
 * @throws Nqo1Error ERR_CALIBRATION_COHORT when the lengths differ, a label is empty, or fewer than
 *   `minimumGroups` groups are present.
 */
export function validateGroups(
  groups: readonly string[],
  caseCount: number,
  minimumGroups: number,
): readonly string[] {
  if (groups.length !== caseCount) {
    throw cohortError(
      `The cohort has ${caseCount} survival times but ${groups.length} group labels. ` +
        'Give one group (for example the predicted class) for every case.',
    );
  }
  for (let index = 0; index < groups.length; index++) {
    if (groups[index]!.length === 0) {
      throw cohortError(`Case ${index + 1} has an empty group label. Give every case a group.`);
    }
  }

  const labels = [...new Set(groups)].sort();
  if (labels.length < minimumGroups) {
    throw cohortError(
      `The survival comparison needs at least ${minimumGroups} groups, but the cohort has ` +
        `${labels.length} (${labels.join(', ')}). Include cases of every predicted class.`,
    );
  }
  return labels;
}

/**
 * Validates a covariate matrix with one row per case and the same number of finite values in each
 * row, and returns the number of covariates.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT when the rows do not match the cases, a row is empty or
 *   ragged, or a value is not finite.
 */
export function validateCovariates(covariates: readonly (readonly number[])[], caseCount: number): number {
  if (covariates.length !== caseCount) {
    throw cohortError(
      `The cohort has ${caseCount} survival times but ${covariates.length} covariate rows. ` +
        'Give one row of covariates for every case.',
    );
  }
  const covariateCount = covariates[0]?.length ?? 0;
  if (covariateCount === 0) {
    throw cohortError('The Cox model has no covariate. Give at least one covariate per case.');
  }

  for (let index = 0; index < covariates.length; index++) {
    const row = covariates[index]!;
    if (row.length !== covariateCount) {
      throw cohortError(
        `Case ${index + 1} has ${row.length} covariates but case 1 has ${covariateCount}. ` +
          'Give every case the same covariates.',
      );
    }
    for (let column = 0; column < covariateCount; column++) {
      const value = row[column]!;
      if (!Number.isFinite(value)) {
        throw cohortError(
          `Case ${index + 1} has covariate ${column + 1} = ${String(value)}, which is not a finite number. ` +
            'Fill in or remove that case.',
        );
      }
    }
  }
  return covariateCount;
}
