/** `nqo1-cds calibrate`: a site card with z-score scaling from the features of local cases. */
import { access, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

import { isNqo1Error, Nqo1Error } from '../../errors.js';
import { analyseCase, cardRadiomicsSettings } from '../../model/analyse.js';
import { computeZScoreScaling, MIN_CALIBRATION_CASES, withSiteScaling } from '../../model/calibrate.js';
import { BR_RO_CARD_PATH, loadModelCard, parseModelCard, type ModelCard } from '../../model/card.js';
import { loadCase, parseSegmentOption } from '../case-input.js';
import { readCaseList, type CaseListEntry } from '../case-list.js';
import { message, type Locale } from '../messages.js';
import { checkOutputPath } from '../output-path.js';

export interface CalibrateOptions {
  readonly cases: string;
  readonly out: string;
  readonly model?: string;
  readonly description?: string;
  /** Replace an existing file at `out`; never one of the inputs. */
  readonly force?: boolean;
}

/** Site version suffix from a time: `site.20261204T2130Z`. */
export function siteVersion(at: Date): string {
  return `site.${at.toISOString().slice(0, 16).replace(/[-:]/g, '')}Z`;
}

/**
 * Checks everything that can be checked before the slow extraction: the output path, the number of
 * cases, and that every listed file exists.
 */
async function checkBeforeExtraction(
  options: CalibrateOptions,
  entries: readonly CaseListEntry[],
): Promise<void> {
  await checkOutputPath(options.out, [
    options.cases,
    ...entries.flatMap((entry) => [entry.image, entry.mask]),
  ]);
  const outStat = await stat(options.out).catch(() => null);
  if (outStat !== null && options.force !== true) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `--out ${options.out} already exists. Choose a new file, or pass --force to replace it.`,
    );
  }

  if (entries.length < MIN_CALIBRATION_CASES) {
    throw new Nqo1Error(
      'ERR_CALIBRATION_COHORT',
      `Calibration needs at least ${MIN_CALIBRATION_CASES} cases, and ${options.cases} lists ${entries.length}. Add cases to the list.`,
    );
  }
  for (const entry of entries) {
    for (const path of [entry.image, entry.mask]) {
      await access(path).catch((error: unknown) => {
        throw new Nqo1Error(
          'ERR_NOT_FOUND',
          `Case list ${options.cases}, line ${entry.line}: ${path} does not exist.`,
          {
            cause: error,
          },
        );
      });
    }
  }
}

/**
 * Extracts the card's features from every listed case, prints progress to `progress`, computes the
 * scaling and writes the site card. A case that fails stops the calibration with its line number,
 * because a silently smaller cohort would change the scaling.
 */
export async function calibrateCommand(
  options: CalibrateOptions,
  locale: Locale,
  progress: NodeJS.WritableStream,
): Promise<ModelCard> {
  const card = await loadModelCard(options.model ?? BR_RO_CARD_PATH);
  const entries = await readCaseList(options.cases);
  await checkBeforeExtraction(options, entries);
  const label = cardRadiomicsSettings(card).label;

  const rows: Record<string, number>[] = [];
  for (const [index, entry] of entries.entries()) {
    const started = performance.now();
    try {
      const loaded = await loadCase(
        entry.image,
        entry.mask,
        entry.label ?? label,
        parseSegmentOption(entry.segment),
      );
      rows.push({ ...analyseCase({ ...loaded, card }).features });
    } catch (error) {
      if (!isNqo1Error(error)) throw error;
      throw new Nqo1Error(error.code, `Case on line ${entry.line} of ${options.cases}: ${error.message}`, {
        cause: error,
        details: error.details,
      });
    }
    progress.write(
      `${message(locale, 'calibrationProgress', {
        index: index + 1,
        count: entries.length,
        name: basename(entry.image),
        status: 'ok',
        seconds: ((performance.now() - started) / 1000).toFixed(1),
      })}\n`,
    );
  }

  const now = new Date();
  const scaling = computeZScoreScaling(card, rows, {
    description: options.description ?? `Site cohort from ${basename(options.cases)}`,
    synthetic: false,
    createdAt: now.toISOString(),
  });
  const siteCard = parseModelCard(withSiteScaling(card, scaling, siteVersion(now)), options.out);
  await writeFile(options.out, `${JSON.stringify(siteCard, null, 2)}\n`);
  progress.write(`${message(locale, 'calibrationWritten', { path: options.out, count: rows.length })}\n`);
  return siteCard;
}
