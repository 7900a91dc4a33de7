/**
 * `nqo1-cds demo`: the whole path on generated data, with nothing to configure.
 *
 * 1. Render a synthetic arterial-phase liver CT with an enhancing tumour and write it as a DICOM
 *    CT series plus a DICOM SEG.
 * 2. Render a synthetic calibration cohort and compute a z-score site card from it.
 * 3. Read the study back from the DICOM files with the product's readers, score it with the
 *    synthetic site card, and print the card the EHR would show.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Nqo1Error } from '../../errors.js';
import { analyseCase } from '../../model/analyse.js';
import { computeZScoreScaling, withSiteScaling } from '../../model/calibrate.js';
import { BR_RO_CARD_PATH, loadModelCard, parseModelCard } from '../../model/card.js';
import type { ScoreResult } from '../../model/result.js';
import { loadCase } from '../case-input.js';
import { renderCardText } from '../card-text.js';
import { DEMO_GRID, demoCases, renderPhantom } from '../demo/phantom.js';
import { newUid, writeCtSeries, writeTumourSeg } from '../demo/write-dicom.js';
import { formatScoreSummary } from '../format.js';
import { message, type Locale } from '../messages.js';

/** Cases in the synthetic calibration cohort. */
export const DEMO_COHORT_SIZE = 16;

export interface DemoOptions {
  /** Folder that receives the study, the site card and the result; replaced on each run. */
  readonly out: string;
}

/** File that marks a folder as demo output, so that a later run may replace it. */
export const DEMO_MARKER_FILE = '.nqo1-demo';

/**
 * Empties the output folder for a new run. Only a missing folder, an empty one, or one that an
 * earlier demo run marked is touched: any other folder may hold someone's files.
 *
 * @throws Nqo1Error ERR_REQUEST_INVALID when the folder exists, is not empty and was not made by the demo.
 */
async function prepareOutputFolder(out: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') {
      throw new Nqo1Error(
        'ERR_REQUEST_INVALID',
        `--out ${out} is a file, not a folder. Pass a new or empty folder.`,
        {
          cause: error,
        },
      );
    }
    if (code !== 'ENOENT') throw error;
    entries = [];
  }

  if (entries.length > 0 && !entries.includes(DEMO_MARKER_FILE)) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `Folder ${out} already exists and was not written by the demo, so it is left untouched. ` +
        'Pass an empty or new folder with --out.',
    );
  }
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await writeFile(
    join(out, DEMO_MARKER_FILE),
    'Output of `nqo1-cds demo`; the next demo run replaces this folder.\n',
  );
}

/** Runs the demo and returns the score of the synthetic study. */
export async function demoCommand(
  options: DemoOptions,
  locale: Locale,
  output: NodeJS.WritableStream,
): Promise<ScoreResult> {
  const say = (text: string): void => void output.write(`${text}\n`);
  say(`${message(locale, 'demoTitle')}\n${message(locale, 'demoSynthetic')}\n`);

  await prepareOutputFolder(options.out);
  const ctFolder = join(options.out, 'study', 'ct');
  await mkdir(ctFolder, { recursive: true });

  const cases = demoCases(DEMO_COHORT_SIZE);
  const study = {
    studyInstanceUid: newUid(),
    frameOfReferenceUid: newUid(),
    studyDate: new Date().toISOString().slice(0, 10).replace(/-/g, ''),
    accessionNumber: 'DEMO0001',
  };
  const phantom = renderPhantom(DEMO_GRID, cases.study);
  const series = writeCtSeries(phantom.image, study);
  await Promise.all(
    series.files.map((bytes, k) =>
      writeFile(join(ctFolder, `ct-${String(k + 1).padStart(3, '0')}.dcm`), bytes),
    ),
  );
  const segPath = join(options.out, 'study', 'tumour-seg.dcm');
  await writeFile(segPath, writeTumourSeg(phantom.tumour, study, series));
  say(message(locale, 'demoStudy', { path: join(options.out, 'study'), slices: series.files.length }));

  const publishedCard = await loadModelCard(BR_RO_CARD_PATH);
  const rows = cases.cohort.map((parameters) => {
    const { image, tumour } = renderPhantom(DEMO_GRID, parameters);
    const references = { studyInstanceUid: null, seriesInstanceUid: null, segmentationInstanceUid: null };
    return analyseCase({ image, tumour, card: publishedCard, references }).features;
  });
  const scaling = computeZScoreScaling(publishedCard, rows, {
    description: `Synthetic demo cohort of ${rows.length} generated phantoms; not for clinical use`,
    synthetic: true,
    createdAt: new Date().toISOString(),
  });
  const siteCard = parseModelCard(
    withSiteScaling(publishedCard, scaling, 'synthetic-demo'),
    'demo site card',
  );
  const siteCardPath = join(options.out, 'site-card.synthetic.json');
  await writeFile(siteCardPath, `${JSON.stringify(siteCard, null, 2)}\n`);
  say(message(locale, 'demoCohort', { count: rows.length }));

  const loaded = await loadCase(ctFolder, segPath, 1);
  const result = analyseCase({ ...loaded, card: siteCard });
  const resultPath = join(options.out, 'result.json');
  await writeFile(resultPath, `${JSON.stringify(result, null, 2)}\n`);

  say(`\n${formatScoreSummary(result, siteCard, locale)}\n`);
  say(`── ${message(locale, 'demoCardTitle')} ──`);
  say(renderCardText(result, siteCard, locale));
  say(`\n${message(locale, 'demoSynthetic')}`);
  say(message(locale, 'demoResult', { path: resultPath }));
  return result;
}
