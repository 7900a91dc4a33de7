/**
 * `nqo1-cds calibrate --cohort FILE.csv --out SITE.json`: a site card from the site's own cases.
 *
 * 1. Reads the cohort (cohort.ts) and checks the paths before any slow work.
 * 2. Computes the card's features of every case in parallel, with progress, through the features
 *    cache (cohort-features.ts), so an interrupted run resumes where it stopped.
 * 3. Computes the z-score scaling (mean and sample SD, n − 1) and each feature's distribution.
 * 4. With labelled cases (column nqo1): fits the coefficients when the card has none (BR-RO), or
 *    with --recalibrate fits a logistic recalibration of a card that has them.
 * 5. Writes the card; it must pass the card schema.
 */
import { stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

import { Nqo1Error } from '../../errors.js';
import { computeZScoreScaling, MIN_CALIBRATION_CASES, withSiteScaling } from '../../model/calibrate.js';
import {
  BR_RO_CARD_PATH,
  hasAllCoefficients,
  loadModelCard,
  parseModelCard,
  type ModelCard,
} from '../../model/card.js';
import {
  fitSiteCoefficients,
  MIN_EVENTS_PER_FEATURE,
  recalibrateCard,
  type LabelledCase,
} from '../../model/site-fit.js';
import { describeDistribution } from '../../stats/summary.js';
import { defaultJobs } from '../extract-batch.js';
import { cohortFeatures } from '../cohort-features.js';
import { readCohort, type CohortCase } from '../cohort.js';
import { message, type Locale } from '../messages.js';
import { checkOutputPath } from '../output-path.js';

export interface CalibrateOptions {
  /** Cohort file (cohort.ts); `cases` is its older name. */
  readonly cohort?: string;
  readonly cases?: string;
  readonly out: string;
  readonly model?: string;
  readonly description?: string;
  /** Replace an existing file at `out`; never one of the inputs. */
  readonly force?: boolean;
  readonly jobs?: number;
  /** Features cache; default `<out>.features.csv`. */
  readonly features?: string;
  /** Leave out cases whose features fail instead of stopping. */
  readonly skipFailed?: boolean;
  /** Fit a logistic recalibration of a card that has coefficients. */
  readonly recalibrate?: boolean;
}

export interface CalibrateStreams {
  readonly progress: NodeJS.WritableStream;
  readonly signal?: AbortSignal;
}

/** Outcome of the command; `card` is undefined after an interruption. */
export interface CalibrateSummary {
  readonly card?: ModelCard;
  readonly interrupted: boolean;
  readonly usedCount: number;
  readonly skippedCount: number;
  readonly warnings: readonly string[];
}

/** Site version suffix from a time: `site.20261204T2130Z`. */
export function siteVersion(at: Date): string {
  return `site.${at.toISOString().slice(0, 16).replace(/[-:]/g, '')}Z`;
}

/** Path of the cohort file, from --cohort or its older name --cases. */
function cohortPath(options: CalibrateOptions): string {
  const path = options.cohort ?? options.cases;
  if (path === undefined || (options.cohort !== undefined && options.cases !== undefined)) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      'calibrate needs --cohort FILE.csv (or its older name --cases), once.',
    );
  }
  return path;
}

/** Path of the features cache: --features, or `<out>.features.csv`. */
function featuresPath(options: CalibrateOptions): string {
  return options.features ?? `${options.out}.features.csv`;
}

/** Checks the output path, the cohort size and that every listed file exists, before extraction. */
async function checkBeforeExtraction(options: CalibrateOptions, path: string, cases: readonly CohortCase[]) {
  const inputs = [path, options.model, ...cases.flatMap((entry) => [entry.image, entry.mask])];
  await checkOutputPath(options.out, inputs);
  await checkOutputPath(featuresPath(options), [...inputs, options.out], '--features');
  const outStat = await stat(options.out).catch(() => null);
  if (outStat !== null && options.force !== true) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `--out ${options.out} already exists. Choose a new file, or pass --force to replace it.`,
    );
  }
  if (cases.length < MIN_CALIBRATION_CASES) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `Calibration needs at least ${MIN_CALIBRATION_CASES} cases, and ${path} lists ${cases.length}. Add cases to the file.`,
    );
  }
  for (const entry of cases) {
    for (const file of [entry.image, entry.mask]) {
      if ((await stat(file).catch(() => null)) === null) {
        throw new Nqo1Error(
          'ERR_NOT_FOUND',
          `Cohort file ${path}, line ${entry.line}: ${file} does not exist.`,
        );
      }
    }
  }
}

/** Lists at most five failed cases as "line N (id): CODE message". */
function failureList(failures: readonly { entry: CohortCase; code: string; message: string }[]): string {
  const shown = failures
    .slice(0, 5)
    .map(
      ({ entry, code, message: text }) =>
        `line ${entry.line} (${entry.id}): ${code} ${text.replace(/\.$/, '')}`,
    );
  return `${shown.join('; ')}${failures.length > 5 ? `; and ${failures.length - 5} more` : ''}`;
}

/** Runs the command; see the module comment. */
export async function calibrateCommand(
  options: CalibrateOptions,
  locale: Locale,
  streams: CalibrateStreams,
): Promise<CalibrateSummary> {
  const path = cohortPath(options);
  const card = await loadModelCard(options.model ?? BR_RO_CARD_PATH);
  const cases = await readCohort(path);
  await checkBeforeExtraction(options, path, cases);

  const computed = await cohortFeatures(cases, card, {
    jobs: options.jobs ?? defaultJobs(),
    cachePath: featuresPath(options),
    locale,
    progress: streams.progress,
    ...(streams.signal === undefined ? {} : { signal: streams.signal }),
  });
  if (computed.interrupted) return { interrupted: true, usedCount: 0, skippedCount: 0, warnings: [] };

  const used: { entry: CohortCase; features: Readonly<Record<string, number>> }[] = [];
  const failures: { entry: CohortCase; code: string; message: string }[] = [];
  computed.outcomes.forEach((outcome, index) => {
    const entry = cases[index]!;
    if (outcome?.ok === true) used.push({ entry, features: outcome.features });
    else if (outcome !== undefined) failures.push({ entry, code: outcome.code, message: outcome.message });
  });
  if (failures.length > 0 && options.skipFailed !== true) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `${failures.length} of ${cases.length} cases failed: ${failureList(failures)}. Fix those cases and run the ` +
        'same command again (computed cases are kept in the features file), or pass --skip-failed to calibrate without them.',
    );
  }

  const now = new Date();
  const createdAt = now.toISOString();
  const rows = used.map((item) => item.features);
  const scaling = computeZScoreScaling(card, rows, {
    description: options.description ?? `Site cohort from ${basename(path)}`,
    synthetic: false,
    createdAt,
  });
  const distribution = Object.fromEntries(
    card.features.map((feature) => [
      feature.name,
      describeDistribution(rows.map((row) => row[feature.name]!)),
    ]),
  );
  let siteCard = withSiteScaling(card, { ...scaling, distribution }, siteVersion(now));

  const warnings: string[] = [];
  const labelled: LabelledCase[] = used.flatMap(({ entry, features }) =>
    entry.outcome === null ? [] : [{ features, outcome: entry.outcome }],
  );
  if (labelled.length > 0 && !hasAllCoefficients(card)) {
    if (options.recalibrate === true) warnings.push(message(locale, 'calibrateRecalibrateIgnored'));
    siteCard = fitSiteCoefficients(siteCard, labelled, createdAt);
    const positives = labelled.filter((entry) => entry.outcome === 1).length;
    const smallerClass = Math.min(positives, labelled.length - positives);
    if (smallerClass < MIN_EVENTS_PER_FEATURE * card.features.length) {
      warnings.push(
        message(locale, 'calibrateFewEvents', {
          smaller: smallerClass,
          features: card.features.length,
          minimum: MIN_EVENTS_PER_FEATURE,
        }),
      );
    }
    warnings.push(message(locale, 'calibrateApparent', { count: labelled.length }));
  } else if (options.recalibrate === true) {
    if (labelled.length === 0) {
      throw new Nqo1Error(
        'ERR_CALIBRATION_COHORT',
        `--recalibrate needs reference classes, and no case of ${path} has an nqo1 value. Fill the nqo1 column (high or low).`,
      );
    }
    siteCard = recalibrateCard(siteCard, labelled, createdAt);
  }

  const written = parseModelCard(siteCard, options.out);
  await writeFile(options.out, `${JSON.stringify(written, null, 2)}\n`);
  if (failures.length > 0) {
    warnings.push(
      message(locale, 'calibrateSkipped', { count: failures.length, list: failureList(failures) }),
    );
  }
  for (const warning of warnings) streams.progress.write(`${message(locale, 'warningPrefix')}: ${warning}\n`);
  streams.progress.write(
    `${message(locale, 'calibrationWritten', { path: options.out, count: rows.length })}\n`,
  );
  return {
    card: written,
    interrupted: false,
    usedCount: rows.length,
    skippedCount: failures.length,
    warnings,
  };
}
