/**
 * `nqo1-cds evaluate --cohort FILE.csv --model CARD --out FOLDER`: how a card performs on a site's
 * cohort, as a JSON report and SVG and PNG pictures of the ROC, calibration, decision and survival
 * curves. The statistics are those of src/model/evaluation.ts; the features come through the same
 * resumable cache as calibrate (cohort-features.ts).
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Nqo1Error } from '../../errors.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../model/card.js';
import { evaluateCohort, type EvaluatedCase, type EvaluationStatistics } from '../../model/evaluation.js';
import { scoreFeatures } from '../../model/score.js';
import { removeEarlierCharts, writeEvaluationCharts } from '../evaluation-charts.js';
import { defaultJobs } from '../extract-batch.js';
import { cohortFeatures } from '../cohort-features.js';
import { readCohort, type CohortCase } from '../cohort.js';
import { message, type Locale } from '../messages.js';
import { ENGINE_VERSION } from '../../version.js';
import { checkOutputPath } from '../output-path.js';

export interface EvaluateOptions {
  readonly cohort: string;
  readonly model?: string;
  /** A second card scored on the same cases, for DeLong's test of the two AUCs. */
  readonly compare?: string;
  /** Folder for evaluation.json and the pictures; created when missing. */
  readonly out: string;
  readonly jobs?: number;
  /** Features cache; default `<out>/features.csv` (and `<out>/features-compare.csv`). */
  readonly features?: string;
  readonly skipFailed?: boolean;
}

export interface EvaluateStreams {
  readonly progress: NodeJS.WritableStream;
  readonly signal?: AbortSignal;
}

/** The written report; undefined when interrupted. */
export interface EvaluateSummary {
  readonly interrupted: boolean;
  readonly report?: EvaluationReport;
  readonly files: readonly string[];
}

export interface EvaluationReport {
  readonly model: { readonly id: string; readonly version: string; readonly coefficientSource: string };
  readonly comparisonModel?: { readonly id: string; readonly version: string };
  readonly threshold: number;
  readonly cohort: {
    readonly caseCount: number;
    readonly evaluatedCount: number;
    readonly failed: readonly {
      readonly line: number;
      readonly id: string;
      readonly code: string;
      readonly message: string;
    }[];
  };
  readonly statistics: EvaluationStatistics;
  readonly warnings: readonly string[];
  readonly software: { readonly engineVersion: string; readonly node: string; readonly createdAt: string };
}

/** Throws unless the card can give a probability: it needs a scaling and every coefficient. */
function requireScorable(card: ModelCard, path: string): void {
  let reason: string | null = null;
  if (card.scaling === null) reason = 'has no site scaling';
  else if (card.features.some((feature) => feature.coefficient === null)) reason = 'lacks coefficients';
  if (reason !== null) {
    throw new Nqo1Error(
      'ERR_MODEL_NOT_CALIBRATED',
      `Model card ${path} ${reason}, so it gives no probability to evaluate. Run nqo1-cds calibrate --cohort ` +
        'with the nqo1 column filled, and evaluate the site card it writes.',
    );
  }
}

/** Computes the probabilities of one card over the cohort, through its features cache. */
async function cohortProbabilities(
  cases: readonly CohortCase[],
  card: ModelCard,
  cachePath: string,
  options: EvaluateOptions,
  locale: Locale,
  streams: EvaluateStreams,
) {
  const computed = await cohortFeatures(cases, card, {
    jobs: options.jobs ?? defaultJobs(),
    cachePath,
    locale,
    progress: streams.progress,
    ...(streams.signal === undefined ? {} : { signal: streams.signal }),
  });
  const probabilities = computed.outcomes.map((outcome) =>
    outcome?.ok === true ? scoreFeatures(card, outcome.features).probability : null,
  );
  return { computed, probabilities };
}

/** Runs the command; see the module comment. */
export async function evaluateCommand(
  options: EvaluateOptions,
  locale: Locale,
  streams: EvaluateStreams,
): Promise<EvaluateSummary> {
  const modelPath = options.model ?? BR_RO_CARD_PATH;
  const card = await loadModelCard(modelPath);
  requireScorable(card, modelPath);
  const comparison = options.compare === undefined ? undefined : await loadModelCard(options.compare);
  if (comparison !== undefined) requireScorable(comparison, options.compare!);
  const cases = await readCohort(options.cohort);
  const outStat = await stat(options.out).catch(() => null);
  if (outStat !== null && !outStat.isDirectory()) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `--out ${options.out} is a file; evaluate writes a folder. Choose a folder path.`,
    );
  }
  const inputs = [
    options.cohort,
    modelPath,
    options.compare,
    ...cases.flatMap((entry) => [entry.image, entry.mask]),
  ];
  await checkOutputPath(options.out, inputs);
  await mkdir(options.out, { recursive: true });
  const cachePath = options.features ?? join(options.out, 'features.csv');
  await checkOutputPath(cachePath, inputs, '--features');
  await removeEarlierCharts(options.out);

  const main = await cohortProbabilities(cases, card, cachePath, options, locale, streams);
  if (main.computed.interrupted) return { interrupted: true, files: [] };
  const other =
    comparison === undefined
      ? undefined
      : await cohortProbabilities(
          cases,
          comparison,
          join(options.out, 'features-compare.csv'),
          options,
          locale,
          streams,
        );
  if (other?.computed.interrupted === true) return { interrupted: true, files: [] };

  const failed = main.computed.outcomes.flatMap((outcome, index) =>
    outcome?.ok === false
      ? [{ line: cases[index]!.line, id: cases[index]!.id, code: outcome.code, message: outcome.message }]
      : [],
  );
  if (failed.length > 0 && options.skipFailed !== true) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `${failed.length} of ${cases.length} cases failed (first: line ${failed[0]!.line}, ${failed[0]!.code} ${failed[0]!.message}). ` +
        'Fix them and run the same command again (computed cases are kept), or pass --skip-failed to evaluate without them.',
    );
  }

  const evaluated: EvaluatedCase[] = [];
  cases.forEach((entry, index) => {
    const probability = main.probabilities[index];
    const comparisonProbability = other?.probabilities[index];
    if (probability === null || probability === undefined) return;
    if (other !== undefined && (comparisonProbability === null || comparisonProbability === undefined))
      return;
    evaluated.push({
      probability,
      ...(comparisonProbability === null || comparisonProbability === undefined
        ? {}
        : { comparisonProbability }),
      outcome: entry.outcome,
      timeDays: entry.timeDays,
      event: entry.event,
    });
  });

  const statistics = evaluateCohort(evaluated, card.threshold);
  // The report keeps its warnings in English; the terminal shows them in the user's language.
  const warnings: string[] = [...statistics.notes];
  const shown: string[] = [...statistics.notes];
  if (card.coefficientSource?.kind === 'site-fit' || card.coefficientSource?.kind === 'refit') {
    const count = card.coefficientSource.caseCount ?? '?';
    warnings.push(message('en', 'evaluateApparent', { count }));
    shown.push(message(locale, 'evaluateApparent', { count }));
  }
  if (card.scaling?.cohort.synthetic === true) {
    warnings.push(message('en', 'evaluateSynthetic'));
    shown.push(message(locale, 'evaluateSynthetic'));
  }

  const report: EvaluationReport = {
    model: {
      id: card.id,
      version: card.version,
      coefficientSource: card.coefficientSource?.kind ?? 'published',
    },
    ...(comparison === undefined
      ? {}
      : { comparisonModel: { id: comparison.id, version: comparison.version } }),
    threshold: card.threshold,
    cohort: { caseCount: cases.length, evaluatedCount: evaluated.length, failed },
    statistics,
    warnings,
    software: {
      engineVersion: ENGINE_VERSION,
      node: process.versions.node,
      createdAt: new Date().toISOString(),
    },
  };
  const reportPath = join(options.out, 'evaluation.json');
  await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  const charts = await writeEvaluationCharts(statistics, options.out, locale);

  for (const warning of [...shown, ...charts.warnings]) {
    streams.progress.write(`${message(locale, 'warningPrefix')}: ${warning}\n`);
  }
  streams.progress.write(`${evaluationSummary(statistics, locale)}\n`);
  streams.progress.write(
    `${message(locale, charts.files.length === 0 ? 'evaluationWrittenNoPictures' : 'evaluationWritten', {
      path: options.out,
      count: charts.files.length + 1,
    })}\n`,
  );
  return { interrupted: false, report, files: [reportPath, ...charts.files] };
}

/** Formats a number with 3 decimals, or "–" for NaN. */
function fixed(value: number): string {
  return Number.isFinite(value) ? value.toFixed(3) : '–';
}

/** Formats a p-value: 3 significant digits, or "< 0.001". */
function formatPValue(value: number): string {
  return value < 0.001 ? '< 0.001' : value.toPrecision(3);
}

/** Formats the headline figures for the terminal, one line each. */
export function evaluationSummary(statistics: EvaluationStatistics, locale: Locale): string {
  const lines: string[] = [];
  const discrimination = statistics.discrimination;
  if (discrimination !== null) {
    lines.push(
      message(locale, 'evaluationAuc', {
        auc: fixed(discrimination.auc.auc),
        lower: fixed(discrimination.auc.ci.lower),
        upper: fixed(discrimination.auc.ci.upper),
        cases: discrimination.caseCount,
        positives: discrimination.positiveCount,
      }),
      message(locale, 'evaluationThreshold', {
        threshold: fixed(discrimination.atCardThreshold.threshold),
        accuracy: fixed(discrimination.atCardThreshold.accuracy),
        sensitivity: fixed(discrimination.atCardThreshold.sensitivity),
        specificity: fixed(discrimination.atCardThreshold.specificity),
      }),
    );
    if ('error' in discrimination.hosmerLemeshow) {
      lines.push(
        message(locale, 'evaluationHosmerLemeshowMissing', { reason: discrimination.hosmerLemeshow.error }),
      );
    } else {
      lines.push(
        message(locale, 'evaluationHosmerLemeshow', {
          statistic: fixed(discrimination.hosmerLemeshow.statistic),
          p: formatPValue(discrimination.hosmerLemeshow.pValue),
        }),
      );
    }
    if (discrimination.comparison !== undefined) {
      lines.push(
        message(locale, 'evaluationDeLong', {
          difference: fixed(discrimination.comparison.difference),
          aucA: fixed(discrimination.comparison.aucA),
          aucB: fixed(discrimination.comparison.aucB),
          p: formatPValue(discrimination.comparison.pValue),
        }),
      );
    }
  }
  const survival = statistics.survival;
  if (survival !== null) {
    lines.push(
      message(locale, 'evaluationLogRank', {
        p: formatPValue(survival.logRank.pValue),
        cases: survival.caseCount,
        events: survival.eventCount,
      }),
    );
    if ('hazardRatios' in survival.cox) {
      lines.push(
        message(locale, 'evaluationHazardRatio', {
          hr: fixed(survival.cox.hazardRatios[0]!),
          lower: fixed(survival.cox.ci[0]!.lower),
          upper: fixed(survival.cox.ci[0]!.upper),
          p: formatPValue(survival.cox.pValues[0]!),
        }),
      );
    }
  }
  return lines.join('\n');
}
