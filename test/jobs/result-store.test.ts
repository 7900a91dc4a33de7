import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, test } from 'vitest';

import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { uncalibratedResult } from '../support/score-result.js';

const JOB: AnalysisJob = {
  studyInstanceUid: '1.2.826.0.1.7',
  imagingStudyId: 'study-7',
  patientId: 'pat-7',
  modelId: 'br-ro',
  modelVersion: '1.0.0',
};

let store: SqliteResultStore | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
});

function openStore(clock?: () => Date): SqliteResultStore {
  store = new SqliteResultStore(':memory:', clock === undefined ? {} : { now: clock });
  return store;
}

describe('SqliteResultStore', () => {
  test('inserts a job once', async () => {
    const s = openStore();

    expect(await s.insertPending(JOB)).toBe(true);
    expect(await s.insertPending({ ...JOB, imagingStudyId: 'other' })).toBe(false);
    expect(await s.getResult(JOB)).toMatchObject({ status: 'pending', job: JOB });
    expect(await s.countByStatus()).toEqual({ pending: 1, running: 0, done: 0, failed: 0 });
  });

  test('binds FHIR ids to a row the PACS enqueued, once', async () => {
    const s = openStore();
    const { patientId: _patient, imagingStudyId: _study, ...arrival } = JOB;
    await s.insertPending(arrival);
    const before = (await s.getResult(JOB))?.updatedAt;

    expect((await s.getResult(JOB))?.job.patientId).toBeUndefined();
    expect(await s.bindFhirIds(JOB)).toMatchObject({ status: 'pending', job: JOB, updatedAt: before });
    expect(await s.claimPending()).toEqual(JOB);
    expect((await s.bindFhirIds({ ...JOB, patientId: 'pat-8', imagingStudyId: 'study-8' }))?.job).toEqual(
      JOB,
    );
    expect(await s.bindFhirIds({ ...JOB, studyInstanceUid: '9.9' })).toBeUndefined();
  });

  test('keys rows by study, model id and version', async () => {
    const s = openStore();
    await s.insertPending(JOB);

    expect(await s.insertPending({ ...JOB, modelVersion: '1.0.0-site' })).toBe(true);
    expect(await s.insertPending({ ...JOB, modelId: 'other-model' })).toBe(true);
    expect(await s.getResult({ ...JOB, studyInstanceUid: '9.9' })).toBeUndefined();
  });

  test('claims pending jobs oldest first', async () => {
    let tick = 0;
    const s = openStore(() => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)));
    await s.insertPending({ ...JOB, studyInstanceUid: '1.1' });
    await s.insertPending({ ...JOB, studyInstanceUid: '1.2' });

    expect((await s.claimPending())?.studyInstanceUid).toBe('1.1');
    expect((await s.getResult({ ...JOB, studyInstanceUid: '1.1' }))?.status).toBe('running');
    expect((await s.claimPending())?.studyInstanceUid).toBe('1.2');
    expect(await s.claimPending()).toBeUndefined();
  });

  test('stores a done result with its observation id', async () => {
    const s = openStore();
    await s.insertPending(JOB);
    await s.claimPending();
    await s.markDone(JOB, uncalibratedResult(), 'obs-1');

    const stored = await s.getResult(JOB);
    expect(stored?.status).toBe('done');
    if (stored?.status !== 'done') return;
    expect(stored.result).toEqual(uncalibratedResult());
    expect(stored.observationId).toBe('obs-1');
    expect(await s.getById(stored.id)).toEqual(stored);
  });

  test('lists the rows of one study and model version', async () => {
    let nowMs = Date.parse('2026-12-05T08:00:00Z');
    const s = openStore(() => new Date((nowMs += 1_000)));
    const older = { ...JOB, seriesInstanceUid: '1.2.826.0.1.7.2' };
    const newer = { ...JOB, seriesInstanceUid: '1.2.826.0.1.7.3' };
    await s.insertPending(older);
    await s.insertPending(newer);
    await s.insertPending(JOB);
    await s.insertPending({ ...JOB, modelVersion: '0.9.0' });
    await s.insertPending({ ...JOB, studyInstanceUid: '1.2.826.0.1.8' });
    // The older requested row is updated last, so it comes before the newer one.
    await s.markFailed(older, { code: 'ERR_SEGMENTATION_MISSING', message: 'no SEG' });

    const rows = await s.listByStudy(JOB.studyInstanceUid, 'br-ro', '1.0.0');

    expect(rows.map((row) => row.job.seriesInstanceUid)).toEqual([
      undefined,
      '1.2.826.0.1.7.2',
      '1.2.826.0.1.7.3',
    ]);
    expect(rows[1]?.status).toBe('failed');
    expect(await s.listByStudy('1.2.826.0.1.9', 'br-ro', '1.0.0')).toEqual([]);
  });

  test('stores a failure code and message', async () => {
    const s = openStore();
    await s.insertPending(JOB);
    await s.markFailed(JOB, { code: 'ERR_MASK_EMPTY', message: 'no tumour voxel' });

    expect(await s.getResult(JOB)).toMatchObject({
      status: 'failed',
      failure: { code: 'ERR_MASK_EMPTY', message: 'no tumour voxel' },
    });
  });

  test('rejects an update of a missing row', async () => {
    const s = openStore();
    await expect(s.markDone(JOB, uncalibratedResult())).rejects.toThrow(
      /No stored analysis for study 1\.2\.826\.0\.1\.7/,
    );
  });

  test('requeues a failure only after the given time', async () => {
    const clock = { now: new Date('2026-01-01T00:00:00Z') };
    const s = openStore(() => clock.now);
    await s.insertPending(JOB);
    await s.markFailed(JOB, { code: 'ERR_DICOMWEB_FAILED', message: 'PACS did not respond' });

    expect(await s.requeueFailed(JOB, new Date('2025-12-31T23:00:00Z'))).toBe(false);
    expect(await s.requeueFailed(JOB, new Date('2026-01-01T00:10:00Z'))).toBe(true);
    expect((await s.getResult(JOB))?.status).toBe('pending');
  });

  test('requeues rows left running', async () => {
    const s = openStore();
    await s.insertPending(JOB);
    await s.claimPending();

    expect(await s.requeueRunning()).toBe(1);
    expect((await s.getResult(JOB))?.status).toBe('pending');
  });

  test('persists rows in a file across reopen', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'nqo1-store-')), 'nested', 'results.sqlite');
    const first = new SqliteResultStore(file);
    await first.insertPending(JOB);
    await first.close();

    store = new SqliteResultStore(file);
    expect((await store.getResult(JOB))?.status).toBe('pending');
  });
});
