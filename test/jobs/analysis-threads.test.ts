/**
 * The study analyser with its CPU-bound steps (decoding, mask reading, features, region pictures)
 * in worker threads. They give the same numbers as in one thread on real DICOM and the same typed
 * errors. The pool survives a thread that crashes or runs out of memory.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { createStudyAnalyser } from '../../src/jobs/analyse-study.js';
import { AnalysisWorkerPool, tsxWorkerModule } from '../../src/jobs/analysis-workers.js';
import { readStudyImages, type StudyImagesInput } from '../../src/jobs/study-images.js';
import type { AnalysisJob, AnalysisOutput } from '../../src/jobs/types.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import { CT_3SLICE, CT_3SLICE_FILES, LIVER_SEG_FILE, readArrayBuffer } from '../support/shared-data.js';
import { fakePacs } from './support/ct-3slice-pacs.js';
import { jpegLsCopy } from './support/jpeg-ls-copy.js';

const CRASHING_MODULE = tsxWorkerModule(new URL('./support/crashing-analysis-worker.ts', import.meta.url));

let publishedCard: ModelCard;
/** The BR-RO card with a z-score scaling, so that the analysis gives a probability. */
let calibratedCard: ModelCard;
let ctFiles: ArrayBuffer[];
let jpegLsFiles: ArrayBuffer[];
let segFile: ArrayBuffer;
let job: AnalysisJob;
const pools: AnalysisWorkerPool[] = [];

function pool(
  options: Partial<ConstructorParameters<typeof AnalysisWorkerPool>[0]> = {},
): AnalysisWorkerPool {
  const created = new AnalysisWorkerPool({ size: 2, ...options });
  pools.push(created);
  return created;
}

/** Analyses the ct-3slice study from `files` with the liver SEG, in worker threads when `workers` is given. */
function analyse(
  files: ArrayBuffer[],
  card: ModelCard,
  workers?: AnalysisWorkerPool,
): Promise<AnalysisOutput> {
  return createStudyAnalyser({
    pacs: fakePacs(files, segFile),
    modelCard: card,
    logger: pino({ level: 'silent' }),
    now: () => new Date('2026-12-05T09:00:00Z'),
    ...(workers === undefined ? {} : { analysisWorkers: workers }),
  })({ ...job, modelId: card.id, modelVersion: card.version });
}

/** Runs `action` and returns what it threw, or fails the test when it throws nothing. */
async function thrown(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  publishedCard = await loadModelCard(BR_RO_CARD_PATH);
  ctFiles = await Promise.all(CT_3SLICE_FILES.map(readArrayBuffer));
  jpegLsFiles = ctFiles.map((file) => jpegLsCopy(file));
  segFile = await readArrayBuffer(LIVER_SEG_FILE);
  job = {
    studyInstanceUid: CT_3SLICE.studyInstanceUid,
    modelId: publishedCard.id,
    modelVersion: publishedCard.version,
  };

  // Means 10 % above and standard deviations of 40 % of the case's own features put every scaled
  // feature at −0.25. With these made-up coefficients the probability is 0.368.
  const features = (await analyse(ctFiles, publishedCard)).result.features;
  const coefficients = [0.8, -0.5, 0.3, 1.1, -0.7, 0.4];
  calibratedCard = {
    ...publishedCard,
    features: publishedCard.features.map((feature, index) => ({
      ...feature,
      coefficient: coefficients[index] ?? 0,
    })),
    scaling: {
      method: 'z-score',
      sd: 'sample',
      parameters: Object.fromEntries(
        Object.entries(features).map(([name, value]) => [
          name,
          { mean: 1.1 * value, sd: 0.4 * Math.abs(value) },
        ]),
      ),
      cohort: {
        description: 'scaling made from the test case itself',
        caseCount: 2,
        createdAt: '2026-12-05T00:00:00.000Z',
        synthetic: true,
      },
    },
  };
});

afterAll(async () => {
  await Promise.all(pools.map((created) => created.close()));
});

describe('analysis in worker threads', () => {
  test('liver SEG: same features and probability', async () => {
    const inline = await analyse(ctFiles, calibratedCard);
    const threaded = await analyse(ctFiles, calibratedCard, pool());

    expect(inline.result.probability).not.toBeNull();
    expect(inline.result.probability).toBeGreaterThan(0);
    expect(inline.result.probability).toBeLessThan(1);
    expect(threaded.result.probability).toBe(inline.result.probability);
    expect(threaded.result.linearPredictor).toBe(inline.result.linearPredictor);
    for (const feature of calibratedCard.features) {
      expect(threaded.result.features[feature.name], feature.name).toBe(inline.result.features[feature.name]);
    }
    expect(threaded.result.provenance.tumourVoxelCount).toBe(inline.result.provenance.tumourVoxelCount);
    expect(threaded.result.provenance.periVoxelCount).toBe(inline.result.provenance.periVoxelCount);
    // The whole output, region pictures included.
    expect(threaded).toEqual(inline);
  });

  test('JPEG-LS CT: same as the native CT', async () => {
    const native = await analyse(ctFiles, calibratedCard);
    const inline = await analyse(jpegLsFiles, calibratedCard);
    const threaded = await analyse(jpegLsFiles, calibratedCard, pool());

    expect(threaded).toEqual(inline);
    // Lossless: the decoded volume, and so every number, equals that of the native files.
    expect(threaded.result.features).toEqual(native.result.features);
    expect(threaded.result.probability).toBe(native.result.probability);
  });

  test('CT files move to the thread without a copy', async () => {
    const files = ctFiles.map((file) => file.slice(0));
    const input: StudyImagesInput = { ctFiles: files, segFile: segFile.slice(0), segModality: 'SEG' };
    const inline = await readStudyImages({ ...input, ctFiles: ctFiles.map((file) => file.slice(0)) });

    const threaded = await pool().readStudyImages(input);

    expect(files.map((file) => file.byteLength)).toEqual([0, 0, 0]);
    expect(input.segFile.byteLength).toBe(segFile.byteLength);
    expect(threaded.series.volume.voxels).toBeInstanceOf(Float64Array);
    expect(threaded.tumour.voxels).toBeInstanceOf(Uint8Array);
    expect(threaded.series.volume.voxels).toEqual(inline.series.volume.voxels);
    expect(threaded.tumour.voxels).toEqual(inline.tumour.voxels);
    expect(threaded.series.volume.grid).toEqual(inline.series.volume.grid);
  });
});

describe('typed errors from worker threads', () => {
  test('malformed JPEG-LS frame keeps its code', async () => {
    const damaged = [jpegLsCopy(ctFiles[0]!, { corrupt: true }), ...jpegLsFiles.slice(1)];
    const input = (): StudyImagesInput => ({
      ctFiles: damaged.map((file) => file.slice(0)),
      segFile,
      segModality: 'SEG',
    });
    const inline = await thrown(() => readStudyImages(input()));

    const threaded = await thrown(() => pool().readStudyImages(input()));

    expect(isNqo1Error(inline, 'ERR_DICOM_MALFORMED')).toBe(true);
    expect(isNqo1Error(threaded, 'ERR_DICOM_MALFORMED')).toBe(true);
    expect((threaded as Error).message).toBe((inline as Error).message);
    expect((threaded as Error).message).toContain('does not start with SOI');
    expect(threaded).toMatchObject({ details: (inline as { details: unknown }).details });
  });

  test('mask off the grid keeps its code', async () => {
    // Two of the three slices: the SEG's third frame lies on no slice of the volume.
    const input = (): StudyImagesInput => ({
      ctFiles: ctFiles.slice(0, 2).map((file) => file.slice(0)),
      segFile,
      segModality: 'SEG',
    });
    const inline = await thrown(() => readStudyImages(input()));

    const threaded = await thrown(() => pool().readStudyImages(input()));

    expect(isNqo1Error(inline, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(threaded).toMatchObject({
      name: 'Nqo1Error',
      code: (inline as { code: string }).code,
      message: (inline as Error).message,
      details: (inline as { details: unknown }).details,
    });
  });
});

describe('worker thread failures', () => {
  test('crashed thread fails its job; the next succeeds', async () => {
    const crashing = pool({ size: 1, workerModule: CRASHING_MODULE });
    const oneSlice = (): StudyImagesInput => ({
      ctFiles: [ctFiles[0]!.slice(0)],
      segFile,
      segModality: 'SEG',
    });

    const error = await thrown(() => crashing.readStudyImages(oneSlice()));

    expect(isNqo1Error(error, 'ERR_INTERNAL')).toBe(true);
    expect((error as Error).message).toContain(
      'The worker thread decoding 1 CT instance and the SEG stopped (exit code 3)',
    );
    expect(error).toMatchObject({ details: { step: 'study-images', reason: 'exit code 3' } });
    expect(crashing.threadCount).toBe(0);

    const inline = await analyse(ctFiles, publishedCard);
    const next = await analyse(ctFiles, publishedCard, crashing);
    expect(next).toEqual(inline);
    expect(crashing.threadCount).toBe(1);
  });

  test('thread out of memory fails its job; the next succeeds', async () => {
    const limited = pool({
      size: 1,
      workerModule: CRASHING_MODULE,
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    const twoSlices = (): StudyImagesInput => ({
      ctFiles: ctFiles.slice(0, 2).map((file) => file.slice(0)),
      segFile,
      segModality: 'SEG',
    });

    const error = await thrown(() => limited.readStudyImages(twoSlices()));

    expect(isNqo1Error(error, 'ERR_INTERNAL')).toBe(true);
    expect((error as Error).message).toContain('stopped (out of memory, ERR_WORKER_OUT_OF_MEMORY)');

    const inline = await analyse(ctFiles, publishedCard);
    const next = await analyse(ctFiles, publishedCard, limited);
    expect(next).toEqual(inline);
  });
});
