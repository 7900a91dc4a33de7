/**
 * `nqo1-cds refit --cohort FILE.csv --out CARD.json`: the paper's selection and fitting on a site's
 * labelled cohort (src/model/refit.ts), written as a new model card for research. Every pyradiomics
 * feature is computed on the tumour and the peritumoral region of each case, in parallel and
 * through a resumable cache, with the base card's settings and region.
 */
import { stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

import { Nqo1Error } from '../../errors.js';
import { BR_RO_CARD_PATH, loadModelCard, parseModelCard, type ModelCard } from '../../model/card.js';
import { candidateCard, refitModel } from '../../model/refit.js';
import { cohortFeatures } from '../cohort-features.js';
import { readCohort } from '../cohort.js';
import { defaultJobs } from '../extract-batch.js';
import { message, type Locale } from '../messages.js';
import { checkOutputPath } from '../output-path.js';

export interface RefitCommandOptions {
  readonly cohort: string;
  readonly out: string;
  /** Card whose extraction settings and region the candidates use (default BR-RO). */
  readonly model?: string;
  /** Features in the final model (default 6, as BR-RO). */
  readonly keep?: number;
  /** Features kept after mRMR (default 20). */
  readonly candidates?: number;
  readonly jobs?: number;
  readonly features?: string;
  readonly skipFailed?: boolean;
  readonly force?: boolean;
}

export interface RefitSummary {
  readonly interrupted: boolean;
  readonly card?: ModelCard;
}

/** Runs the command; see the module comment. */
export async function refitCommand(
  options: RefitCommandOptions,
  locale: Locale,
  streams: { readonly progress: NodeJS.WritableStream; readonly signal?: AbortSignal },
): Promise<RefitSummary> {
  const keep = options.keep ?? 6;
  const candidates = options.candidates ?? 20;
  if (!Number.isInteger(keep) || keep < 1 || !Number.isInteger(candidates) || candidates < keep) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `--keep ${keep} and --candidates ${candidates} must be whole numbers with 1 ≤ keep ≤ candidates.`,
    );
  }
  const base = await loadModelCard(options.model ?? BR_RO_CARD_PATH);
  const cases = await readCohort(options.cohort);
  const inputs = [options.cohort, options.model, ...cases.flatMap((entry) => [entry.image, entry.mask])];
  const cachePath = options.features ?? `${options.out}.features.csv`;
  await checkOutputPath(options.out, inputs);
  await checkOutputPath(cachePath, [...inputs, options.out], '--features');
  if ((await stat(options.out).catch(() => null)) !== null && options.force !== true) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `--out ${options.out} already exists. Choose a new file, or pass --force to replace it.`,
    );
  }
  const labelledCount = cases.filter((entry) => entry.outcome !== null).length;
  if (labelledCount === 0) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `refit needs reference classes, and no case of ${options.cohort} has an nqo1 value. Fill the nqo1 column (high or low).`,
    );
  }

  const computed = await cohortFeatures(cases, candidateCard(base), {
    jobs: options.jobs ?? defaultJobs(),
    cachePath,
    locale,
    progress: streams.progress,
    ...(streams.signal === undefined ? {} : { signal: streams.signal }),
  });
  if (computed.interrupted) return { interrupted: true };

  const rows: Readonly<Record<string, number>>[] = [];
  const labels: (0 | 1)[] = [];
  const failed: string[] = [];
  computed.outcomes.forEach((outcome, index) => {
    const entry = cases[index]!;
    if (outcome?.ok === false) failed.push(`line ${entry.line} (${entry.id}): ${outcome.code}`);
    if (outcome?.ok !== true || entry.outcome === null) return;
    rows.push(outcome.features);
    labels.push(entry.outcome);
  });
  if (failed.length > 0 && options.skipFailed !== true) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `${failed.length} cases failed (${failed.slice(0, 5).join('; ')}). Fix them and run the same command again ` +
        '(computed cases are kept), or pass --skip-failed to refit without them.',
    );
  }

  const createdAt = new Date().toISOString();
  const result = refitModel(base, rows, labels, {
    candidates,
    keep,
    createdAt,
    cohortDescription: `Labelled site cohort from ${basename(options.cohort)}`,
  });
  const card = parseModelCard(result.card, options.out);
  await writeFile(options.out, `${JSON.stringify(card, null, 2)}\n`);
  streams.progress.write(
    `${message(locale, 'refitWritten', {
      path: options.out,
      features: card.features.map((feature) => feature.name).join(', '),
      cases: rows.length,
    })}\n`,
  );
  return { interrupted: false, card };
}
