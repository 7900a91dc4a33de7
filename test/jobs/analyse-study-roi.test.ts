import { join } from 'node:path';
import { Writable } from 'node:stream';

import { pino, type Logger } from 'pino';
import { beforeAll, describe, expect, test } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { createStudyAnalyser, type StudySource } from '../../src/jobs/analyse-study.js';
import type { AnalysisJob, AnalysisOutput } from '../../src/jobs/types.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import {
  CT_3SLICE,
  CT_3SLICE_FILES,
  LIVER_SEG_FILE,
  SHARED_DATA_DIR,
  readArrayBuffer,
} from '../support/shared-data.js';
import { ctInstanceMetadata, roiPacs, widenCt3Slice, widenRtUtils } from './roi-pacs.js';

/** Slices of the widened study added on each side of the three real ones. */
const ADDED_PER_SIDE = 10;
/** Bytes of each ct-3slice file, all three alike (uncompressed 512 × 512 × 16 bit plus header). */
const CT_3SLICE_FILE_BYTES = 526_474;

let card: ModelCard;
let realCt: ArrayBuffer[];
let segFile: ArrayBuffer;
/** ct-3slice (z −128.69 … −126.69 mm, 1 mm apart) with ten moved copies below and above: 23 slices. */
let widenedCt: ArrayBuffer[];
let job: AnalysisJob;

beforeAll(async () => {
  card = await loadModelCard(BR_RO_CARD_PATH);
  realCt = await Promise.all(CT_3SLICE_FILES.map(readArrayBuffer));
  segFile = await readArrayBuffer(LIVER_SEG_FILE);
  widenedCt = widenCt3Slice(realCt, ADDED_PER_SIDE);
  job = {
    studyInstanceUid: CT_3SLICE.studyInstanceUid,
    imagingStudyId: 'img-1',
    patientId: 'patient-1',
    modelId: card.id,
    modelVersion: card.version,
  };
});

function capturingLogger(): { logger: Logger; records: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    logger: pino({ level: 'debug' }, stream),
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

async function analyseWith(
  pacs: StudySource,
  ctRetrieval: 'roi-first' | 'whole-series',
  logger: Logger = pino({ level: 'silent' }),
): Promise<AnalysisOutput> {
  const analyse = createStudyAnalyser({
    pacs,
    modelCard: card,
    logger,
    ctRetrieval,
    now: () => new Date('2026-12-05T02:00:00Z'),
  });
  return analyse(job);
}

describe('ROI-first retrieval', () => {
  test('ct-3slice: ROI spans series, retrieved whole', async () => {
    const pacs = roiPacs(CT_3SLICE, realCt, segFile);

    const output = await analyseWith(pacs, 'roi-first');
    const whole = await analyseWith(roiPacs(CT_3SLICE, realCt, segFile), 'whole-series');

    // The SEG frames lie on all three slices, and 3 mm dilation + 1 mm spacing reaches past both ends.
    expect(output.result.provenance.ctRetrieval).toEqual({
      path: 'whole-series',
      instancesFetched: 3,
      seriesInstanceCount: 3,
      bytesFetched: 3 * CT_3SLICE_FILE_BYTES,
      seriesBytes: 3 * CT_3SLICE_FILE_BYTES,
      fallbackReason: 'the widened ROI spans every slice of the series',
    });
    expect(pacs.traffic.calls).toEqual([
      `qido instances ${CT_3SLICE.ctSeriesInstanceUid}`,
      `instance metadata ${CT_3SLICE.ctSeriesInstanceUid}`,
      `metadata ${CT_3SLICE.segSeriesInstanceUid}`,
      'wado seg',
      `metadata ${CT_3SLICE.ctSeriesInstanceUid}`,
      `wado series ${CT_3SLICE.ctSeriesInstanceUid}`,
    ]);
    expect(output.result.features).toEqual(whole.result.features);
  });

  test('widened study: 11 of 23 slices, same features', async () => {
    const roiSource = roiPacs(CT_3SLICE, widenedCt, segFile);
    const wholeSource = roiPacs(CT_3SLICE, widenedCt, segFile);
    const { logger, records } = capturingLogger();

    const roi = await analyseWith(roiSource, 'roi-first', logger);
    const whole = await analyseWith(wholeSource, 'whole-series');

    // Extent −128.69 − 4 … −126.69 + 4 mm: the 3 real slices and 4 added on each side.
    expect(roi.result.features).toEqual(whole.result.features);
    expect(roi.result.probability).toBe(whole.result.probability);
    expect(roi.result.provenance.tumourVoxelCount).toBe(whole.result.provenance.tumourVoxelCount);
    expect(roi.result.provenance.periVoxelCount).toBe(whole.result.provenance.periVoxelCount);
    const fetched = roiSource.traffic.calls.filter((call) => call.startsWith('wado instance'));
    expect(fetched.map((call) => call.replace('wado instance ', '')).sort()).toEqual(
      [
        ...realCt.map((file) => String(ctInstanceMetadata(file)['00080018']?.Value?.[0])),
        ...[1, 2, 3, 4].flatMap((n) => [`2.25.9100${n}`, `2.25.9200${n}`]),
      ].sort(),
    );
    expect(roiSource.traffic.calls.some((call) => call.startsWith('wado series'))).toBe(false);

    const retrieval = roi.result.provenance.ctRetrieval;
    expect(retrieval).toMatchObject({ path: 'roi', instancesFetched: 11, seriesInstanceCount: 23 });
    expect(retrieval?.bytesFetched).toBe(roiSource.traffic.ctBytesSent);
    expect(wholeSource.traffic.ctBytesSent).toBe(whole.result.provenance.ctRetrieval?.bytesFetched);
    // 11 slices of 23: under half of the whole series' bytes.
    expect(roiSource.traffic.ctBytesSent / wholeSource.traffic.ctBytesSent).toBeCloseTo(11 / 23, 3);
    expect(retrieval?.fallbackReason).toBeUndefined();

    const decoded = records().find((record) => record.msg === 'images decoded');
    expect(decoded).toMatchObject({
      retrievalPath: 'roi',
      ctInstancesFetched: 11,
      ctSeriesInstanceCount: 23,
      ctBytesFetched: roiSource.traffic.ctBytesSent,
      dimensions: [512, 512, 11],
    });
  });

  test('SEG off metadata slices: whole series', async () => {
    // Metadata 0.5 mm off the files' positions: the plan cannot place the SEG frames.
    const shifted = widenedCt.map((file) => {
      const item = ctInstanceMetadata(file);
      const [x, y, z] = (item['00200032']?.Value ?? []) as number[];
      return { ...item, '00200032': { vr: 'DS', Value: [x, y, (z ?? 0) + 0.5] } };
    });
    const pacs = roiPacs(CT_3SLICE, widenedCt, segFile, shifted);
    const { logger, records } = capturingLogger();

    const output = await analyseWith(pacs, 'roi-first', logger);

    expect(output.result.provenance.ctRetrieval).toMatchObject({
      path: 'whole-series',
      instancesFetched: 23,
      fallbackReason: 'a SEG frame at z = -128.690 mm lies on no CT slice',
    });
    expect(records().find((record) => record.msg === 'images decoded')).toMatchObject({
      retrievalPath: 'whole-series',
      fallbackReason: 'a SEG frame at z = -128.690 mm lies on no CT slice',
    });
  });

  test('metadata short of QIDO-RS count: rejected', async () => {
    // Without the lowest added slice the stack stays regular, so only the count tells it apart.
    const metadata = widenedCt.slice(0, -1).map(ctInstanceMetadata);
    const pacs = roiPacs(CT_3SLICE, widenedCt, segFile, metadata);

    const error: unknown = await analyseWith(pacs, 'roi-first').catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_DICOMWEB_FAILED')).toBe(true);
    expect((error as Error).message).toContain('returned 22 instances');
    expect(pacs.traffic.calls.some((call) => call.startsWith('wado instance'))).toBe(false);
  });
});

describe('ROI-first retrieval with an RT Structure Set', () => {
  const RT_UTILS = join(SHARED_DATA_DIR, 'dicom/rt-utils/mock_data');
  const RT_STUDY = {
    ctSeriesInstanceUid: '2.16.840.1.114362.1.11940992.23790159890.563423471.893.88',
    segSeriesInstanceUid: '1.2.826.0.1.3680043.8.498.89741355679709801396840716944014866916',
    segSopInstanceUid: '1.2.826.0.1.3680043.8.498.22430495616617216947739970650082853315',
    segModality: 'RTSTRUCT',
  } as const;

  test('widened rt-utils: 3 of 10 slices, same features', async () => {
    const [ct1, ct2, rt] = await Promise.all(
      ['ct_1.dcm', 'ct_2.dcm', 'rt.dcm'].map((name) => readArrayBuffer(join(RT_UTILS, name))),
    );
    // z 40 … 85 mm, 5 mm apart; the contours lie at z = 60 mm.
    const ct = widenRtUtils(ct1!, ct2!, 4);
    const roiSource = roiPacs(RT_STUDY, ct, rt!);

    const roi = await analyseWith(roiSource, 'roi-first');
    const whole = await analyseWith(roiPacs(RT_STUDY, ct, rt!), 'whole-series');

    // Extent 60 ∓ (3 + 5) mm = [52, 68]: the slices at 55, 60 and 65 mm.
    expect(roi.result.provenance.ctRetrieval).toMatchObject({
      path: 'roi',
      instancesFetched: 3,
      seriesInstanceCount: 10,
    });
    expect(
      roiSource.traffic.calls
        .filter((call) => call.startsWith('wado instance'))
        .map((call) => call.slice(14))
        .sort(),
    ).toEqual(
      [
        ...[ct1!, ct2!].map((file) => String(ctInstanceMetadata(file)['00080018']?.Value?.[0])),
        '2.25.93001',
      ].sort(),
    );
    // 1443 voxels: the ring of rt.dcm, counted independently in test/imaging/rtstruct.test.ts.
    expect(roi.result.provenance.tumourVoxelCount).toBe(1443);
    expect(roi.result.features).toEqual(whole.result.features);
    expect(roi.result.provenance.periVoxelCount).toBe(whole.result.provenance.periVoxelCount);
  });
});
