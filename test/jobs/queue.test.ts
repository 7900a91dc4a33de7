import { afterEach, describe, expect, test } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { AnalysisQueue } from '../../src/jobs/queue.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalyseStudy, AnalysisJob } from '../../src/jobs/types.js';
import { captureLogs } from '../support/log-capture.js';
import { uncalibratedResult } from '../support/score-result.js';

function job(studyInstanceUid: string): AnalysisJob {
  return {
    studyInstanceUid,
    imagingStudyId: `study-${studyInstanceUid}`,
    patientId: 'pat-secret-42',
    modelId: 'br-ro',
    modelVersion: '1.0.0',
  };
}

let store: SqliteResultStore | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
});

async function setUp(analyse: AnalyseStudy, retryFailedAfterMs?: number) {
  store = new SqliteResultStore(':memory:');
  const logs = captureLogs();
  const queue = new AnalysisQueue({
    store,
    analyse,
    logger: logs.logger,
    ...(retryFailedAfterMs === undefined ? {} : { retryFailedAfterMs }),
  });
  await queue.start();
  return { store, queue, logs };
}

describe('AnalysisQueue', () => {
  test('returns from enqueue before analysing', async () => {
    const started: string[] = [];
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { store: s, queue } = await setUp(async (j) => {
      started.push(j.studyInstanceUid);
      await released;
      return { result: uncalibratedResult() };
    });

    // The analysis waits for `release`, so an enqueue that waited for the analysis would time out.
    // The worker may take the job before enqueue resolves, so `started` is not checked here.
    expect(await queue.enqueue(job('1.1'))).toBe('enqueued');
    expect(['pending', 'running']).toContain((await s.getResult(job('1.1')))?.status);
    release();
    await queue.drain();

    expect(started).toEqual(['1.1']);
    expect((await s.getResult(job('1.1')))?.status).toBe('done');
  });

  test('stores the region pictures with the result, replacing earlier ones', async () => {
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47);
    const overlay = {
      window: { levelHu: 60, widthHu: 200 },
      cropVoxels: { iMin: 0, iMax: 9, jMin: 0, jMax: 9 },
      pixelsPerVoxel: [8, 8] as const,
      slices: [4, 5].map((sliceIndex) => ({
        sliceIndex,
        tumourVoxelCount: 12,
        widthPx: 80,
        heightPx: 80,
        png,
      })),
    };
    const { store: s, queue } = await setUp(() => Promise.resolve({ result: uncalibratedResult(), overlay }));
    await s.overlays.save('stale', { ...overlay, slices: [] });

    await queue.enqueue(job('1.1'));
    await queue.drain();
    const id = (await s.getResult(job('1.1')))?.id ?? '';

    expect(
      (await s.overlays.list(id)).map((slice) => [slice.sliceIndex, slice.widthPx, slice.window.widthHu]),
    ).toEqual([
      [4, 80, 200],
      [5, 80, 200],
    ]);
    expect([...((await s.overlays.png(id, 5)) ?? [])]).toEqual([...png]);
    expect(await s.overlays.png(id, 6)).toBeUndefined();

    // A second save of the same analysis keeps only the new pictures.
    await s.overlays.save(id, { ...overlay, slices: overlay.slices.slice(1) });
    expect((await s.overlays.list(id)).map((slice) => slice.sliceIndex)).toEqual([5]);
  });

  test('enqueues the same study once', async () => {
    let calls = 0;
    const { queue } = await setUp(() => {
      calls++;
      return Promise.resolve({ result: uncalibratedResult() });
    });

    expect(await queue.enqueue(job('1.1'))).toBe('enqueued');
    expect(await queue.enqueue(job('1.1'))).toBe('exists');
    await queue.drain();
    expect(await queue.enqueue(job('1.1'))).toBe('exists');
    await queue.drain();

    expect(calls).toBe(1);
  });

  test('runs one job at a time', async () => {
    let running = 0;
    let maxRunning = 0;
    const { queue } = await setUp(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return { result: uncalibratedResult() };
    });

    for (const uid of ['1.1', '1.2', '1.3', '1.4']) await queue.enqueue(job(uid));
    await queue.drain();

    expect(maxRunning).toBe(1);
  });

  test('survives a throwing analyse', async () => {
    const {
      store: s,
      queue,
      logs,
    } = await setUp((j) => {
      if (j.studyInstanceUid === '1.1')
        return Promise.reject(new Nqo1Error('ERR_SEGMENTATION_MISSING', 'no SEG in study 1.1'));
      if (j.studyInstanceUid === '1.2') throw new TypeError('patient Zhang has a bug');
      return Promise.resolve({ result: uncalibratedResult() });
    });

    for (const uid of ['1.1', '1.2', '1.3']) await queue.enqueue(job(uid));
    await queue.drain();

    expect(await s.getResult(job('1.1'))).toMatchObject({
      status: 'failed',
      failure: { code: 'ERR_SEGMENTATION_MISSING', message: 'no SEG in study 1.1' },
    });
    expect(await s.getResult(job('1.2'))).toMatchObject({
      status: 'failed',
      failure: { code: 'ERR_INTERNAL' },
    });
    expect((await s.getResult(job('1.3')))?.status).toBe('done');

    const failures = logs.withMessage('analysis failed');
    expect(failures.map((entry) => entry.code)).toEqual(['ERR_SEGMENTATION_MISSING', 'ERR_INTERNAL']);
    expect(failures[0]?.message).toBe('no SEG in study 1.1');
    expect(failures[1]?.errorName).toBe('TypeError');
    expect(failures[1]?.message).toBeUndefined();
    expect(logs.text()).not.toContain('patient Zhang');
    expect(logs.text()).not.toContain('pat-secret-42');
  });

  test('truncates a long failure message', async () => {
    const longMessage = `WADO-RS of series 1.1 failed: ${'x'.repeat(2000)}`;
    const { queue, logs } = await setUp(() =>
      Promise.reject(new Nqo1Error('ERR_DICOMWEB_FAILED', longMessage)),
    );
    await queue.enqueue(job('1.1'));
    await queue.drain();

    const [failure] = logs.withMessage('analysis failed');
    const message = failure?.message as string;
    expect(message).toHaveLength(500);
    expect(message.startsWith('WADO-RS of series 1.1 failed: x')).toBe(true);
    expect(message.endsWith('…')).toBe(true);
  });

  test('rejects a result for another model version', async () => {
    const { store: s, queue } = await setUp(() => Promise.resolve({ result: uncalibratedResult() }));
    await queue.enqueue({ ...job('1.1'), modelVersion: '2.0.0' });
    await queue.drain();

    expect(await s.getResult({ ...job('1.1'), modelVersion: '2.0.0' })).toMatchObject({
      status: 'failed',
      failure: { code: 'ERR_INTERNAL' },
    });
  });

  test('retries a failure after retryFailedAfterMs', async () => {
    let calls = 0;
    const { store: s, queue } = await setUp(() => {
      calls++;
      return calls === 1
        ? Promise.reject(new Nqo1Error('ERR_DICOMWEB_FAILED', 'PACS timed out'))
        : Promise.resolve({ result: uncalibratedResult() });
    }, 0);

    await queue.enqueue(job('1.1'));
    await queue.drain();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await queue.enqueue(job('1.1'))).toBe('requeued');
    await queue.drain();

    expect(calls).toBe(2);
    expect((await s.getResult(job('1.1')))?.status).toBe('done');
  });

  test('resumes pending rows on start', async () => {
    store = new SqliteResultStore(':memory:');
    await store.insertPending(job('1.1'));
    await store.insertPending(job('1.2'));
    await store.claimPending();
    const done: string[] = [];
    const queue = new AnalysisQueue({
      store,
      logger: captureLogs().logger,
      analyse: (j) => {
        done.push(j.studyInstanceUid);
        return Promise.resolve({ result: uncalibratedResult() });
      },
    });

    await queue.start();
    await queue.drain();

    expect(done.sort()).toEqual(['1.1', '1.2']);
  });

  test('refuses new jobs after stop', async () => {
    const { queue } = await setUp(() => Promise.resolve({ result: uncalibratedResult() }));
    await queue.stop();

    await expect(queue.enqueue(job('1.1'))).rejects.toThrow(/queue is stopping/);
  });
});
