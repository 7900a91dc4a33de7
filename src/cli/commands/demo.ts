/**
 * `nqo1-cds demo`: the whole path on generated data, with nothing to configure.
 *
 * 1. Render a synthetic arterial-phase liver CT with an enhancing tumour and write it as a DICOM
 *    CT series plus a DICOM SEG.
 * 2. Render a synthetic calibration cohort and compute a z-score site card from it.
 * 3. Read the study back from the DICOM files with the product's readers, score it with the
 *    synthetic site card, and print the card the EHR would show.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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

/** Runs the demo and returns the score of the synthetic study. */
export async function demoCommand(
  options: DemoOptions,
  locale: Locale,
  output: NodeJS.WritableStream,
): Promise<ScoreResult> {
  const say = (text: string): void => void output.write(`${text}\n`);
  say(`${message(locale, 'demoTitle')}\n${message(locale, 'demoSynthetic')}\n`);

  await rm(options.out, { recursive: true, force: true });
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
