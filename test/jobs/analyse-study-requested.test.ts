import { pino } from 'pino';
import { beforeAll, describe, expect, test } from 'vitest';

import type { DicomJsonDataset } from '../../src/dicomweb/client.js';
import { isNqo1Error } from '../../src/errors.js';
import type { WriteBackInput, WriteBackOutcome } from '../../src/fhir/write-back.js';
import { createStudyAnalyser, type StudySource } from '../../src/jobs/analyse-study.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import { CT_3SLICE, CT_3SLICE_FILES, LIVER_SEG_FILE, readArrayBuffer } from '../support/shared-data.js';

/** A CT series that the automatic rule prefers (its description names the arterial phase), with no images. */
const DECOY_CT_UID = '1.2.826.0.1.3680043.10.1.1';
const MR_UID = '1.2.826.0.1.3680043.10.1.2';

function seriesResult(uid: string, modality: string, description: string, count: number): DicomJsonDataset {
  return {
    '0020000E': { vr: 'UI', Value: [uid] },
    '00080060': { vr: 'CS', Value: [modality] },
    '0008103E': { vr: 'LO', Value: [description] },
    '00201209': { vr: 'IS', Value: [count] },
  };
}

/**
 * Builds an in-memory PACS with the ct-3slice study and its SEG, plus a decoy arterial-phase CT series
 * and an MR series. Retrieving any series but the ct-3slice CT fails.
 */
function fakePacs(ctFiles: ArrayBuffer[], segFile: ArrayBuffer): StudySource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    searchSeries: () =>
      Promise.resolve([
        seriesResult(DECOY_CT_UID, 'CT', 'Arterial phase', 300),
        seriesResult(CT_3SLICE.ctSeriesInstanceUid, 'CT', '', 3),
        seriesResult(MR_UID, 'MR', 'T2', 20),
        seriesResult(CT_3SLICE.segSeriesInstanceUid, 'SEG', 'Liver Segmentation', 1),
      ]),
    retrieveSeriesMetadata: (_study, series) => {
      calls.push(`metadata ${series}`);
      return Promise.resolve([
        {
          '0020000E': { vr: 'UI', Value: [CT_3SLICE.segSeriesInstanceUid] },
          '00080018': { vr: 'UI', Value: [CT_3SLICE.segSopInstanceUid] },
          '00081115': {
            vr: 'SQ',
            Value: [{ '0020000E': { vr: 'UI', Value: [CT_3SLICE.ctSeriesInstanceUid] } }],
          },
        },
      ]);
    },
    // The acquisition attributes serve the automatic rules, which a requested series bypasses.
    searchInstances: (_study, series) => {
      calls.push(`qido instances ${series}`);
      return Promise.resolve([]);
    },
    retrieveInstanceMetadata: (_study, series) => {
      calls.push(`instance metadata ${series}`);
      return Promise.resolve({});
    },
    retrieveSeriesInstances: (_study, series) => {
      calls.push(`wado series ${series}`);
      if (series !== CT_3SLICE.ctSeriesInstanceUid)
        return Promise.reject(new Error(`no images in ${series}`));
      return Promise.resolve(ctFiles);
    },
    retrieveInstance: (_study, _series, sop) => {
      calls.push(`wado instance ${sop}`);
      return Promise.resolve(segFile);
    },
  };
}

let card: ModelCard;
let ctFiles: ArrayBuffer[];
let segFile: ArrayBuffer;
let job: AnalysisJob;

beforeAll(async () => {
  card = await loadModelCard(BR_RO_CARD_PATH);
  ctFiles = await Promise.all(CT_3SLICE_FILES.map(readArrayBuffer));
  segFile = await readArrayBuffer(LIVER_SEG_FILE);
  job = {
    studyInstanceUid: CT_3SLICE.studyInstanceUid,
    imagingStudyId: 'img-1',
    patientId: 'patient-1',
    modelId: card.id,
    modelVersion: card.version,
  };
});

function analyserWith(
  pacs: StudySource,
  writes: WriteBackInput[] = [],
): ReturnType<typeof createStudyAnalyser> {
  const writer = {
    write: (input: WriteBackInput): Promise<WriteBackOutcome> => {
      writes.push(input);
      return Promise.resolve({
        observationId: 'obs-1',
        activity: 'create',
        deviceId: 'd',
        provenanceId: 'p',
      });
    },
  };
  return createStudyAnalyser({
    pacs,
    writer,
    modelCard: card,
    logger: pino({ level: 'silent' }),
    ctRetrieval: 'whole-series',
  });
}

describe('createStudyAnalyser with a requested choice', () => {
  test('analyses the requested series instead of the rule', async () => {
    const pacs = fakePacs(ctFiles, segFile);
    const writes: WriteBackInput[] = [];

    const output = await analyserWith(
      pacs,
      writes,
    )({
      ...job,
      seriesInstanceUid: CT_3SLICE.ctSeriesInstanceUid,
    });

    expect(output.result.provenance.seriesInstanceUid).toBe(CT_3SLICE.ctSeriesInstanceUid);
    expect(output.result.provenance.segmentationInstanceUid).toBe(CT_3SLICE.segSopInstanceUid);
    expect(output.result.provenance.seriesSelection).toEqual({
      reason: 'requested',
      seriesDescription: '',
      seriesNumber: null,
      instanceCount: 3,
      ctSeriesCount: 2,
      arterialCount: 1,
      segmentationReason: 'references-ct-series',
      candidates: [
        {
          seriesInstanceUid: CT_3SLICE.ctSeriesInstanceUid,
          seriesNumber: null,
          seriesDescription: '',
          instanceCount: 3,
          sliceThicknessMm: null,
          convolutionKernel: null,
          contrastAgentRecorded: null,
          acquisitionDelaySeconds: null,
          outcome: 'chosen',
          rule: 'requested',
        },
      ],
    });
    expect(
      pacs.calls.filter((call) => call.startsWith('qido instances') || call.startsWith('instance metadata')),
    ).toEqual([]);
    expect(pacs.calls).toContain(`wado series ${CT_3SLICE.ctSeriesInstanceUid}`);
    expect(pacs.calls).not.toContain(`wado series ${DECOY_CT_UID}`);
  });

  test('writes no Observation for a requested series', async () => {
    const writes: WriteBackInput[] = [];

    const output = await analyserWith(
      fakePacs(ctFiles, segFile),
      writes,
    )({
      ...job,
      seriesInstanceUid: CT_3SLICE.ctSeriesInstanceUid,
    });

    expect(writes).toEqual([]);
    expect(output.observationId).toBeUndefined();
    expect(output.writeBackFailure).toBeUndefined();
  });

  test('uses a requested segmentation', async () => {
    const output = await analyserWith(fakePacs(ctFiles, segFile))({
      ...job,
      seriesInstanceUid: CT_3SLICE.ctSeriesInstanceUid,
      segmentationSopInstanceUid: CT_3SLICE.segSopInstanceUid,
    });

    expect(output.result.provenance.seriesSelection?.reason).toBe('requested');
    expect(output.result.provenance.seriesSelection?.segmentationReason).toBe('requested');
  });

  test('follows the rule without a request', async () => {
    const pacs = fakePacs(ctFiles, segFile);

    // The rule picks the decoy, which the study's only SEG does not outline, so nothing is retrieved.
    await expect(analyserWith(pacs)(job)).rejects.toThrow(`not CT series ${DECOY_CT_UID}`);
    expect(pacs.calls.filter((call) => call.startsWith('wado'))).toEqual([]);
  });

  test.each([
    [
      'a series not in the study',
      '1.2.3.999',
      'ERR_REQUESTED_SERIES_INVALID',
      /1\.2\.3\.999 is not in the study/,
    ],
    ['an MR series', MR_UID, 'ERR_REQUESTED_SERIES_INVALID', /has modality MR, not CT/],
  ] as const)('rejects %s before retrieval', async (_case, uid, code, message) => {
    const pacs = fakePacs(ctFiles, segFile);

    const error: unknown = await analyserWith(pacs)({ ...job, seriesInstanceUid: uid }).catch(
      (caught: unknown) => caught,
    );

    expect(isNqo1Error(error, code)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(pacs.calls.filter((call) => call.startsWith('wado'))).toEqual([]);
  });

  test('rejects a segmentation not in the study', async () => {
    const pacs = fakePacs(ctFiles, segFile);

    const error: unknown = await analyserWith(pacs)({
      ...job,
      seriesInstanceUid: CT_3SLICE.ctSeriesInstanceUid,
      segmentationSopInstanceUid: CT_3SLICE.ctSeriesInstanceUid,
    }).catch((caught: unknown) => caught);

    expect(isNqo1Error(error, 'ERR_REQUESTED_SEGMENTATION_INVALID')).toBe(true);
    expect((error as Error).message).toContain(CT_3SLICE.ctSeriesInstanceUid);
    expect(pacs.calls.filter((call) => call.startsWith('wado'))).toEqual([]);
  });
});
