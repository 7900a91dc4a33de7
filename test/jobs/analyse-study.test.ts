import { join } from 'node:path';
import { Writable } from 'node:stream';

import { pino, type Logger } from 'pino';
import { beforeAll, describe, expect, test } from 'vitest';

import { Nqo1Error, isNqo1Error } from '../../src/errors.js';
import type { WriteBackInput, WriteBackOutcome } from '../../src/fhir/write-back.js';
import type { DicomJsonDataset } from '../../src/dicomweb/client.js';
import {
  createStudyAnalyser,
  createStudyAnalyserFromConfig,
  type StudySource,
} from '../../src/jobs/analyse-study.js';
import { AnalysisWorkerPool } from '../../src/jobs/analysis-workers.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import { startLoopbackListener } from '../support/loopback-listener.js';
import { fakePacs, seriesResult } from './support/ct-3slice-pacs.js';
import {
  CT_3SLICE,
  CT_3SLICE_FILES,
  LIVER_SEG_FILE,
  SHARED_DATA_DIR,
  readArrayBuffer,
} from '../support/shared-data.js';

const PATIENT_ID = 'patient-secret-42';

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
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
    patientId: PATIENT_ID,
    modelId: card.id,
    modelVersion: card.version,
  };
});

describe('createStudyAnalyser', () => {
  test('scores the liver SEG on the CT and writes back', async () => {
    const { logger, lines } = capturingLogger();
    const writes: WriteBackInput[] = [];
    const writer = {
      write: (input: WriteBackInput): Promise<WriteBackOutcome> => {
        writes.push(input);
        return Promise.resolve({
          observationId: 'obs-1',
          activity: 'create',
          deviceId: 'dev-1',
          provenanceId: 'prov-1',
        });
      },
    };
    const analyse = createStudyAnalyser({
      pacs: fakePacs(ctFiles, segFile),
      writer,
      modelCard: card,
      logger,
      now: () => new Date('2026-12-04T20:00:00Z'),
    });

    const output = await analyse(job);

    expect(output.observationId).toBe('obs-1');
    expect(Object.keys(output.result.features).sort()).toEqual(
      card.features.map((feature) => feature.name).sort(),
    );
    for (const value of Object.values(output.result.features)) expect(Number.isFinite(value)).toBe(true);
    expect(output.result.provenance.seriesInstanceUid).toBe(CT_3SLICE.ctSeriesInstanceUid);
    expect(output.result.provenance.segmentationInstanceUid).toBe(CT_3SLICE.segSopInstanceUid);
    expect(output.result.provenance.tumourVoxelCount).toBeGreaterThan(1000);
    expect(output.result.provenance.periVoxelCount).toBeGreaterThan(
      output.result.provenance.tumourVoxelCount,
    );
    expect(output.result.provenance.computedAt).toBe('2026-12-04T20:00:00.000Z');
    // One picture per slice of the 3-slice CT; together they hold every tumour voxel the features used.
    const slices = output.overlay?.slices ?? [];
    expect(slices.map((slice) => slice.sliceIndex)).toEqual([0, 1, 2]);
    expect(slices.reduce((sum, slice) => sum + slice.tumourVoxelCount, 0)).toBe(
      output.result.provenance.tumourVoxelCount,
    );
    expect(output.result.provenance.seriesSelection).toEqual({
      reason: 'most-instances',
      seriesDescription: '',
      seriesNumber: null,
      instanceCount: 3,
      ctSeriesCount: 1,
      arterialCount: 0,
      segmentationReason: 'references-ct-series',
      candidates: [
        {
          seriesInstanceUid: CT_3SLICE.ctSeriesInstanceUid,
          seriesNumber: null,
          seriesDescription: '',
          instanceCount: 3,
          sliceThicknessMm: 1.25,
          convolutionKernel: 'STANDARD',
          contrastAgentRecorded: false,
          acquisitionDelaySeconds: null,
          outcome: 'chosen',
          rule: 'most-instances',
        },
      ],
    });
    expect(writes).toHaveLength(1);
    expect(writes[0]?.patientId).toBe(PATIENT_ID);
    expect(writes[0]?.imagingStudyId).toBe('img-1');
    expect(writes[0]?.effectiveDateTime).toBe('2003-04-17');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(lines.join('')).not.toContain(PATIENT_ID);
  });

  test('a job without FHIR ids is scored and not written back', async () => {
    const writes: WriteBackInput[] = [];
    const analyse = createStudyAnalyser({
      pacs: fakePacs(ctFiles, segFile),
      writer: {
        write: (input: WriteBackInput): Promise<WriteBackOutcome> => {
          writes.push(input);
          return Promise.reject(new Error('write-back must not run without FHIR ids'));
        },
      },
      modelCard: card,
      logger: pino({ level: 'silent' }),
    });
    const { patientId: _patient, imagingStudyId: _study, ...arrival } = job;

    const output = await analyse(arrival);

    expect(writes).toHaveLength(0);
    expect(output.observationId).toBeUndefined();
    expect(output.effectiveDateTime).toBe('2003-04-17');
    expect(output.result.provenance.segmentationInstanceUid).toBe(CT_3SLICE.segSopInstanceUid);
  });

  test('a failed write-back returns the result with the failure instead of throwing', async () => {
    const analyse = createStudyAnalyser({
      pacs: fakePacs(ctFiles, segFile),
      writer: {
        write: (): Promise<WriteBackOutcome> =>
          Promise.reject(new Nqo1Error('ERR_FHIR_FAILED', 'FHIR create of Observation returned HTTP 503')),
      },
      modelCard: card,
      logger: pino({ level: 'silent' }),
    });

    const output = await analyse(job);

    expect(output.observationId).toBeUndefined();
    expect(output.writeBackFailure).toEqual({
      code: 'ERR_FHIR_FAILED',
      message: 'FHIR create of Observation returned HTTP 503',
    });
    expect(output.effectiveDateTime).toBe('2003-04-17');
    expect(output.result.provenance.tumourVoxelCount).toBeGreaterThan(1000);
  });

  test('reports each stage duration once', async () => {
    const stages: [string, number][] = [];
    const analyse = createStudyAnalyser({
      pacs: fakePacs(ctFiles, segFile),
      modelCard: card,
      logger: pino({ level: 'silent' }),
      onStageTimed: (stage, durationMs) => {
        stages.push([stage, durationMs]);
      },
    });

    await analyse(job);

    expect(stages.map(([stage]) => stage)).toEqual(['retrieve', 'decode', 'features']);
    for (const [, durationMs] of stages) {
      expect(durationMs).toBeGreaterThanOrEqual(0);
      expect(durationMs).toBeLessThan(60_000);
    }
  });

  test('without writer keeps the result only', async () => {
    const analyse = createStudyAnalyser({
      pacs: fakePacs(ctFiles, segFile),
      modelCard: card,
      logger: pino({ level: 'silent' }),
    });

    const output = await analyse(job);

    expect(output.observationId).toBeUndefined();
    expect(output.result.model).toEqual({ id: card.id, version: card.version });
  });

  test('study without SEG fails with ERR_SEGMENTATION_MISSING', async () => {
    const pacs = fakePacs(ctFiles, null);
    const analyse = createStudyAnalyser({ pacs, modelCard: card, logger: pino({ level: 'silent' }) });

    const error: unknown = await analyse(job).catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_SEGMENTATION_MISSING')).toBe(true);
    expect(pacs.calls.some((call) => call.startsWith('wado'))).toBe(false);
  });

  test('partly received series is rejected', async () => {
    const pacs = fakePacs(ctFiles.slice(0, 2), segFile);
    const analyse = createStudyAnalyser({ pacs, modelCard: card, logger: pino({ level: 'silent' }) });

    const error: unknown = await analyse(job).catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_DICOMWEB_FAILED')).toBe(true);
    expect((error as Error).message).toContain('returned 2 instances');
  });

  test('series over the instance limit is not retrieved', async () => {
    const pacs = fakePacs(ctFiles, segFile);
    const analyse = createStudyAnalyser({
      pacs,
      modelCard: card,
      logger: pino({ level: 'silent' }),
      series: { maxInstances: 2 },
    });

    const error: unknown = await analyse(job).catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_INPUT_TOO_LARGE')).toBe(true);
    expect((error as Error).message).toContain('3 instances, more than the limit of 2');
    expect(pacs.calls.some((call) => call.startsWith('wado series'))).toBe(false);
  });

  test('series over the voxel limit is rejected before decoding', async () => {
    const pacs = fakePacs(ctFiles, segFile);
    const analyse = createStudyAnalyser({
      pacs,
      modelCard: card,
      logger: pino({ level: 'silent' }),
      series: { maxVoxels: 512 * 512 * 3 - 1 },
    });

    const error: unknown = await analyse(job).catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_INPUT_TOO_LARGE')).toBe(true);
    expect((error as Error).message).toContain(`${512 * 512 * 3} voxels`);
  });

  test('job for another card version is rejected', async () => {
    const pacs = fakePacs(ctFiles, segFile);
    const analyse = createStudyAnalyser({ pacs, modelCard: card, logger: pino({ level: 'silent' }) });

    const error: unknown = await analyse({ ...job, modelVersion: 'other' }).catch(
      (thrown: unknown) => thrown,
    );

    expect(isNqo1Error(error, 'ERR_CONFIG_INVALID')).toBe(true);
    expect(pacs.calls).toEqual([]);
  });
});

describe('createStudyAnalyser with worker threads', () => {
  test('scores the liver SEG as in one thread', async () => {
    const analysisWorkers = new AnalysisWorkerPool({ size: 2 });
    const options = {
      modelCard: card,
      logger: pino({ level: 'silent' }),
      now: () => new Date('2026-12-04T20:00:00Z'),
    };
    try {
      const inline = await createStudyAnalyser({ ...options, pacs: fakePacs(ctFiles, segFile) })(job);
      const threaded = await createStudyAnalyser({
        ...options,
        pacs: fakePacs(ctFiles, segFile),
        analysisWorkers,
      })(job);

      expect(threaded).toEqual(inline);
      expect(threaded.result.provenance.tumourVoxelCount).toBeGreaterThan(1000);
    } finally {
      await analysisWorkers.close();
    }
  });

  test('engine error arrives as in one thread', async () => {
    const analysisWorkers = new AnalysisWorkerPool({ size: 2 });
    // A peritumoral feature name the engine does not know: ERR_SETTINGS_INVALID from the worker.
    const badCard = {
      ...card,
      features: card.features.map((feature, index) =>
        index === card.features.length - 1 ? { ...feature, pyradiomicsName: 'original_glcm_Nope' } : feature,
      ),
    };
    const options = { modelCard: badCard, logger: pino({ level: 'silent' }) };
    try {
      const inline: unknown = await createStudyAnalyser({ ...options, pacs: fakePacs(ctFiles, segFile) })(
        job,
      ).catch((thrown: unknown) => thrown);
      const threaded: unknown = await createStudyAnalyser({
        ...options,
        pacs: fakePacs(ctFiles, segFile),
        analysisWorkers,
      })(job).catch((thrown: unknown) => thrown);

      expect(isNqo1Error(inline, 'ERR_SETTINGS_INVALID')).toBe(true);
      expect(isNqo1Error(threaded, 'ERR_SETTINGS_INVALID')).toBe(true);
      expect(threaded).toMatchObject({
        code: (inline as { code: string }).code,
        message: (inline as Error).message,
      });
    } finally {
      await analysisWorkers.close();
    }
  });
});

describe('createStudyAnalyserFromConfig', () => {
  test.each(['dicomweb', 'fhir'] as const)(
    'non-allowlisted %s URL fails before connecting',
    async (section) => {
      const listener = await startLoopbackListener((_request, response) => response.end('[]'));
      const allowed = {
        baseUrl: `${listener.origin}/base`,
        allowedBaseUrls: [`${listener.origin}/base`],
        timeoutMs: 1_000,
      };
      const config = {
        dicomweb: allowed,
        fhir: allowed,
        [section]: { ...allowed, allowedBaseUrls: [`${listener.origin}/other`] },
      };

      try {
        expect(() =>
          createStudyAnalyserFromConfig(config, { modelCard: card, logger: pino({ level: 'silent' }) }),
        ).toThrow(expect.objectContaining({ code: 'ERR_URL_NOT_ALLOWED' }) as Error);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(listener.connectionCount()).toBe(0);
      } finally {
        await listener.close();
      }
    },
  );

  test('unset bearer token variable is a configuration error', () => {
    const section = {
      baseUrl: 'http://127.0.0.1:9/base',
      allowedBaseUrls: ['http://127.0.0.1:9/base'],
      timeoutMs: 1_000,
    };
    const config = { dicomweb: section, fhir: { ...section, bearerTokenEnv: 'NQO1_TEST_TOKEN' } };

    expect(() =>
      createStudyAnalyserFromConfig(config, { modelCard: card, logger: pino({ level: 'silent' }), env: {} }),
    ).toThrow(/NQO1_TEST_TOKEN/);
  });
});

describe('createStudyAnalyser series rules', () => {
  test('skips a larger bone-kernel series of the study', async () => {
    const boneSeries = '1.2.826.0.1.3680043.8.498.1';
    const base = fakePacs(ctFiles, segFile);
    const pacs: StudySource & { calls: string[] } = {
      ...base,
      searchSeries: async (study) => [
        ...(await base.searchSeries(study)),
        seriesResult(boneSeries, 'CT', 'ABD 1.25 bone', 300),
      ],
      searchInstances: (study, series, query) =>
        series === boneSeries
          ? Promise.resolve([
              {
                '00080018': { vr: 'UI', Value: [`${boneSeries}.1`] },
                '00181210': { vr: 'SH', Value: ['BONE'] },
              },
            ])
          : base.searchInstances(study, series, query),
    };
    const analyse = createStudyAnalyser({ pacs, modelCard: card, logger: pino({ level: 'silent' }) });

    const output = await analyse(job);

    const selection = output.result.provenance.seriesSelection;
    expect(output.result.provenance.seriesInstanceUid).toBe(CT_3SLICE.ctSeriesInstanceUid);
    expect(selection?.ctSeriesCount).toBe(2);
    expect(selection?.candidates?.[1]).toMatchObject({
      seriesInstanceUid: boneSeries,
      outcome: 'excluded',
      rule: 'convolution-kernel',
      pattern: 'bone',
      instanceCount: 300,
    });
    expect(pacs.calls.filter((call) => call.includes(boneSeries))).toEqual([]);
  });

  test('seriesRules option reaches the selection', async () => {
    const pacs = fakePacs(ctFiles, segFile);
    const analyse = createStudyAnalyser({
      pacs,
      modelCard: card,
      logger: pino({ level: 'silent' }),
      seriesRules: { sliceThicknessMm: { min: 2, max: 5 } },
    });

    const error: unknown = await analyse(job).catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_SERIES_EMPTY')).toBe(true);
    expect((error as Error).message).toContain(`series ${CT_3SLICE.ctSeriesInstanceUid}: slice-thickness`);
    expect(pacs.calls.some((call) => call.startsWith('wado'))).toBe(false);
  });
});

describe('createStudyAnalyser with an RT Structure Set', () => {
  const RT_UTILS = join(SHARED_DATA_DIR, 'dicom/rt-utils/mock_data');
  const STUDY = '1.2.840.113619.2.405.3.84541899.902.1605198123.910';
  const CT_SERIES = '2.16.840.1.114362.1.11940992.23790159890.563423471.893.88';
  const RT_SERIES = '1.2.826.0.1.3680043.8.498.89741355679709801396840716944014866916';
  const RT_SOP = '1.2.826.0.1.3680043.8.498.22430495616617216947739970650082853315';

  test('reads the tumour from the RTSTRUCT that references the CT', async () => {
    const ct = await Promise.all(
      ['ct_1.dcm', 'ct_2.dcm'].map((name) => readArrayBuffer(join(RT_UTILS, name))),
    );
    const rt = await readArrayBuffer(join(RT_UTILS, 'rt.dcm'));
    const reference = (uid: string): DicomJsonDataset => ({ '0020000E': { vr: 'UI', Value: [uid] } });
    const pacs: StudySource = {
      searchInstances: () => Promise.resolve([]),
      retrieveInstanceMetadata: () =>
        Promise.reject(new Error('the RTSTRUCT study has no instance metadata')),
      searchSeries: () =>
        Promise.resolve([
          seriesResult(CT_SERIES, 'CT', '', 2),
          seriesResult(RT_SERIES, 'RTSTRUCT', 'ROIs', 1),
        ]),
      // Metadata without Modality: the QIDO-RS series modality decides the reader.
      retrieveSeriesMetadata: () =>
        Promise.resolve([
          {
            '0020000E': { vr: 'UI', Value: [RT_SERIES] },
            '00080018': { vr: 'UI', Value: [RT_SOP] },
            '30060010': {
              vr: 'SQ',
              Value: [
                {
                  '30060012': {
                    vr: 'SQ',
                    Value: [{ '30060014': { vr: 'SQ', Value: [reference(CT_SERIES)] } }],
                  },
                },
              ],
            },
          },
        ]),
      // Fresh buffers on each call, as from HTTP: the worker threads detach the CT files they receive.
      retrieveSeriesInstances: () => Promise.resolve(ct.map((file) => file.slice(0))),
      retrieveInstance: () => Promise.resolve(rt.slice(0)),
    };
    const options = { pacs, modelCard: card, logger: pino({ level: 'silent' }), now: () => new Date(0) };
    const analyse = createStudyAnalyser(options);

    const output = await analyse({ ...job, studyInstanceUid: STUDY });

    // 1443 voxels: the ring of rt.dcm, counted independently in test/imaging/rtstruct.test.ts.
    expect(output.result.provenance.tumourVoxelCount).toBe(1443);
    expect(output.result.provenance.segmentationInstanceUid).toBe(RT_SOP);

    // The same result when the contours are read and rasterised in worker threads.
    const analysisWorkers = new AnalysisWorkerPool({ size: 2 });
    try {
      const threaded = await createStudyAnalyser({ ...options, analysisWorkers })({
        ...job,
        studyInstanceUid: STUDY,
      });
      expect(threaded).toEqual(output);
    } finally {
      await analysisWorkers.close();
    }
  });
});
