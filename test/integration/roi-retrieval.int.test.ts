import { Writable } from 'node:stream';

import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { DicomWebClient } from '../../src/dicomweb/client.js';
import {
  createStudyAnalyser,
  createStudyAnalyserFromConfig,
  type StudyAnalyserConfig,
} from '../../src/jobs/analyse-study.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import { widenCt3Slice } from '../jobs/roi-pacs.js';
import { orthancSkipReason, startOrthanc, type OrthancHandle } from '../support/orthanc.js';
import { CT_3SLICE, CT_3SLICE_FILES, LIVER_SEG_FILE, readArrayBuffer } from '../support/shared-data.js';

const skipReason = orthancSkipReason('the ROI-first retrieval tests');

function capturingLogger(): { logger: Logger; records: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, stream),
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe.skipIf(skipReason !== null)('ROI-first retrieval against Orthanc', () => {
  let orthanc: OrthancHandle | undefined;
  let pacs: DicomWebClient;
  let card: ModelCard;
  let job: AnalysisJob;

  beforeAll(async () => {
    const started = await startOrthanc();
    orthanc = started;
    pacs = new DicomWebClient({
      baseUrl: started.dicomWebUrl,
      allowlist: [started.dicomWebUrl],
      timeoutMs: 60_000,
    });
    const realCt = await Promise.all(CT_3SLICE_FILES.map(readArrayBuffer));
    // ct-3slice widened to 23 slices 1 mm apart; the liver SEG covers the middle three.
    await pacs.storeInstances([...widenCt3Slice(realCt, 10), await readArrayBuffer(LIVER_SEG_FILE)]);
    card = await loadModelCard(BR_RO_CARD_PATH);
    job = {
      studyInstanceUid: CT_3SLICE.studyInstanceUid,
      imagingStudyId: 'img-1',
      patientId: 'patient-1',
      modelId: card.id,
      modelVersion: card.version,
    };
  }, 60_000);

  afterAll(async () => {
    await orthanc?.stop();
  });

  test('Orthanc: 11 of 23 slices, same features', async () => {
    const roiLog = capturingLogger();
    const wholeLog = capturingLogger();
    const now = (): Date => new Date('2026-12-05T02:00:00Z');

    const roi = await createStudyAnalyser({ pacs, modelCard: card, logger: roiLog.logger, now })(job);
    // The whole-series run is configured as a site would, through `dicomweb.ctRetrieval`.
    const config: StudyAnalyserConfig = {
      dicomweb: {
        baseUrl: orthanc!.dicomWebUrl,
        allowedBaseUrls: [orthanc!.dicomWebUrl],
        timeoutMs: 60_000,
        ctRetrieval: 'whole-series',
      },
      jobs: { workerThreads: 0 },
    };
    const wholeAnalyser = createStudyAnalyserFromConfig(config, {
      modelCard: card,
      logger: wholeLog.logger,
      now,
    });
    const whole = await wholeAnalyser(job);
    await wholeAnalyser.close();

    expect(roi.result.features).toEqual(whole.result.features);
    expect(roi.result.provenance.tumourVoxelCount).toBe(whole.result.provenance.tumourVoxelCount);
    expect(roi.result.provenance.periVoxelCount).toBe(whole.result.provenance.periVoxelCount);
    const roiRetrieval = roi.result.provenance.ctRetrieval;
    const wholeRetrieval = whole.result.provenance.ctRetrieval;
    expect(roiRetrieval).toMatchObject({ path: 'roi', instancesFetched: 11, seriesInstanceCount: 23 });
    expect(wholeRetrieval).toMatchObject({
      path: 'whole-series',
      instancesFetched: 23,
      fallbackReason: 'whole-series retrieval is configured',
    });
    // Equal-sized uncompressed slices: the ROI path's estimate of the series bytes is within 1 %.
    expect(Math.abs(roiRetrieval!.seriesBytes / wholeRetrieval!.bytesFetched - 1)).toBeLessThan(0.01);
    expect(roiRetrieval!.bytesFetched / wholeRetrieval!.bytesFetched).toBeCloseTo(11 / 23, 2);
    const decoded = (records: Record<string, unknown>[]): Record<string, unknown> | undefined =>
      records.find((record) => record.msg === 'images decoded');
    expect(decoded(roiLog.records())).toMatchObject({ retrievalPath: 'roi', dimensions: [512, 512, 11] });
  }, 120_000);
});
