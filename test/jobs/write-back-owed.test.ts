/**
 * The owed write-back: a result stored before its FHIR ids were known, or whose write-back failed,
 * is written to FHIR later by the queue, once, without analysing the study again.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, test, vi } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import type { WriteBackInput, WriteBackOutcome } from '../../src/fhir/write-back.js';
import type { ResultWriter } from '../../src/jobs/analyse-study.js';
import { AnalysisQueue } from '../../src/jobs/queue.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalyseStudy, AnalysisJob } from '../../src/jobs/types.js';
import { captureLogs } from '../support/log-capture.js';
import { uncalibratedResult } from '../support/score-result.js';

const STUDY = '1.2.826.0.1.3680043.99.7';
const ARRIVAL: AnalysisJob = { studyInstanceUid: STUDY, modelId: 'br-ro', modelVersion: '1.0.0' };
const HOOK_JOB: AnalysisJob = { ...ARRIVAL, patientId: 'pat-secret-42', imagingStudyId: 'img-7' };

const opened: { store: SqliteResultStore; queue: AnalysisQueue }[] = [];

afterEach(async () => {
  for (const { store, queue } of opened.splice(0)) {
    await queue.stop();
    await store.close();
  }
});

/** Creates a fake FHIR writer that records each call and fails the first `failures` of them. */
function fakeWriter(failures = 0): ResultWriter & { calls: WriteBackInput[] } {
  const calls: WriteBackInput[] = [];
  return {
    calls,
    write(input: WriteBackInput): Promise<WriteBackOutcome> {
      calls.push(input);
      if (calls.length <= failures) {
        return Promise.reject(
          new Nqo1Error('ERR_FHIR_FAILED', 'FHIR create of Observation returned HTTP 503'),
        );
      }
      return Promise.resolve({
        observationId: `obs-${calls.length}`,
        activity: calls.length === 1 ? 'create' : 'update',
        deviceId: 'dev-1',
        provenanceId: `prov-${calls.length}`,
      });
    },
  };
}

/** An analyser that counts its runs and returns a fixed result with a CT acquisition date. */
function countingAnalyser(): AnalyseStudy & { runs: AnalysisJob[] } {
  const runs: AnalysisJob[] = [];
  return Object.assign(
    (job: AnalysisJob) => {
      runs.push(job);
      return Promise.resolve({ result: uncalibratedResult(), effectiveDateTime: '2003-04-17' });
    },
    { runs },
  );
}

async function openQueue(
  sqlitePath: string,
  analyse: AnalyseStudy,
  writer: ResultWriter,
  retryWriteBackAfterMs = 60_000,
): Promise<{ store: SqliteResultStore; queue: AnalysisQueue }> {
  const store = new SqliteResultStore(sqlitePath);
  const queue = new AnalysisQueue({
    store,
    analyse,
    writer,
    logger: captureLogs().logger,
    retryWriteBackAfterMs,
  });
  await queue.start();
  opened.push({ store, queue });
  return { store, queue };
}

function tempDatabase(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'nqo1-writeback-')), 'results.sqlite');
}

describe('owed write-back', () => {
  test('a PACS-started result is written back once after the hook binds its ids', async () => {
    const analyse = countingAnalyser();
    const writer = fakeWriter();
    const { store, queue } = await openQueue(':memory:', analyse, writer);

    await queue.enqueue(ARRIVAL);
    await queue.drain();
    expect(await store.getResult(ARRIVAL)).toMatchObject({ status: 'done' });
    expect(await store.getResult(ARRIVAL)).not.toHaveProperty('observationId');
    expect(writer.calls).toHaveLength(0);

    await store.bindFhirIds(HOOK_JOB);
    await queue.drain();

    expect(analyse.runs).toHaveLength(1);
    expect(writer.calls).toHaveLength(1);
    expect(writer.calls[0]).toEqual({
      result: uncalibratedResult(),
      patientId: 'pat-secret-42',
      imagingStudyId: 'img-7',
      studyInstanceUid: STUDY,
      effectiveDateTime: '2003-04-17',
    });
    expect(await store.getResult(ARRIVAL)).toMatchObject({ status: 'done', observationId: 'obs-1' });
    expect(await store.countOwedWriteBacks()).toBe(0);
  });

  test('a job bound while running is written back after it is stored', async () => {
    const writer = fakeWriter();
    let finish: () => void = () => undefined;
    const analyse: AnalyseStudy = () =>
      new Promise((resolve) => {
        finish = () => {
          resolve({ result: uncalibratedResult() });
        };
      });
    const { store, queue } = await openQueue(':memory:', analyse, writer);

    await queue.enqueue(ARRIVAL);
    await vi.waitFor(async () => {
      expect((await store.getResult(ARRIVAL))?.status).toBe('running');
    });
    await store.bindFhirIds(HOOK_JOB);
    finish();
    await queue.drain();

    expect(writer.calls.map((call) => call.patientId)).toEqual(['pat-secret-42']);
    expect(await store.getResult(ARRIVAL)).toMatchObject({ status: 'done', observationId: 'obs-1' });
  });

  test('two hooks binding at once cause one write-back', async () => {
    const file = tempDatabase();
    const writer = fakeWriter();
    const { store, queue } = await openQueue(file, countingAnalyser(), writer);
    await queue.enqueue(ARRIVAL);
    await queue.drain();

    // A second connection to the same file stands for a concurrent request.
    const other = new SqliteResultStore(file);
    await store.bindFhirIds(HOOK_JOB);
    await other.bindFhirIds({ ...HOOK_JOB, patientId: 'pat-other', imagingStudyId: 'img-other' });
    await store.bindFhirIds(HOOK_JOB);
    await other.close();
    await queue.drain();

    expect(writer.calls).toHaveLength(1);
    expect(writer.calls[0]?.patientId).toBe('pat-secret-42');
    expect(await store.getResult(ARRIVAL)).toMatchObject({ observationId: 'obs-1' });
  });

  test('a failed write-back keeps the result and is retried later', async () => {
    const analyse = countingAnalyser();
    const writer = fakeWriter(1);
    const { store, queue } = await openQueue(':memory:', analyse, writer, 30);

    await queue.enqueue(ARRIVAL);
    await queue.drain();
    await store.bindFhirIds(HOOK_JOB);
    await queue.drain();

    expect(writer.calls).toHaveLength(1);
    const afterFailure = await store.getResult(ARRIVAL);
    expect(afterFailure).toMatchObject({ status: 'done', result: uncalibratedResult() });
    expect(afterFailure).not.toHaveProperty('observationId');
    expect(await store.countOwedWriteBacks()).toBe(1);

    // The queue wakes itself after 30 ms; allow 2 s on a loaded machine.
    await vi.waitFor(
      async () => {
        expect(await store.getResult(ARRIVAL)).toMatchObject({ observationId: 'obs-2' });
      },
      {
        timeout: 2000,
      },
    );
    expect(writer.calls).toHaveLength(2);
    expect(analyse.runs).toHaveLength(1);
  });

  test('analysis write-back failure retries write-back only', async () => {
    const analyse: AnalyseStudy & { runs: number } = Object.assign(
      () => {
        analyse.runs += 1;
        return Promise.resolve({
          result: uncalibratedResult(),
          writeBackFailure: { code: 'ERR_FHIR_FAILED' as const, message: 'HTTP 503' },
        });
      },
      { runs: 0 },
    );
    const writer = fakeWriter();
    const { store, queue } = await openQueue(':memory:', analyse, writer, 30);

    await queue.enqueue(HOOK_JOB);
    await queue.drain();
    expect(await store.getResult(HOOK_JOB)).toMatchObject({ status: 'done', result: uncalibratedResult() });
    expect(writer.calls).toHaveLength(0);

    await vi.waitFor(
      async () => {
        expect(await store.getResult(HOOK_JOB)).toMatchObject({ observationId: 'obs-1' });
      },
      {
        timeout: 2000,
      },
    );
    expect(analyse.runs).toBe(1);
  });

  test('an owed write-back survives a restart', async () => {
    const file = tempDatabase();
    const analyse = countingAnalyser();
    const failing = fakeWriter(Number.POSITIVE_INFINITY);
    const first = await openQueue(file, analyse, failing, 3_600_000);
    await first.queue.enqueue(ARRIVAL);
    await first.queue.drain();
    await first.store.bindFhirIds(HOOK_JOB);
    await first.queue.drain();
    expect(failing.calls).toHaveLength(1);
    await first.queue.stop();
    await first.store.close();
    opened.splice(0);

    const writer = fakeWriter();
    const second = await openQueue(file, analyse, writer, 3_600_000);
    await second.queue.drain();

    expect(writer.calls).toHaveLength(1);
    expect(analyse.runs).toHaveLength(1);
    expect(await second.store.getResult(ARRIVAL)).toMatchObject({ status: 'done', observationId: 'obs-1' });
  });

  test.each(['ERR_PATIENT_CONFLICT', 'ERR_FHIR_REJECTED'] as const)(
    '%s stops the retries until the next start',
    async (code) => {
      const file = tempDatabase();
      const analyse = countingAnalyser();
      const conflicting: ResultWriter & { calls: WriteBackInput[] } = {
        calls: [],
        write(input) {
          conflicting.calls.push(input);
          return Promise.reject(new Nqo1Error(code, 'The FHIR server refused the write-back.'));
        },
      };
      // A 1 s retry interval: a second attempt would come well within the wait below.
      const first = await openQueue(file, analyse, conflicting, 1000);
      await first.queue.enqueue(HOOK_JOB);
      await first.queue.drain();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await first.queue.drain();

      expect(conflicting.calls).toHaveLength(1);
      expect(await first.store.countOwedWriteBacks()).toBe(0);
      expect(await first.store.countStoppedWriteBacks()).toBe(1);
      await first.queue.stop();
      await first.store.close();
      opened.splice(0);

      // After hospital IT mended the cause, a restart tries once more.
      const writer = fakeWriter();
      const second = await openQueue(file, analyse, writer, 1000);
      await second.queue.drain();
      expect(writer.calls).toHaveLength(1);
      expect(await second.store.getResult(HOOK_JOB)).toMatchObject({ observationId: 'obs-1' });
      expect(await second.store.countStoppedWriteBacks()).toBe(0);
    },
  );

  test('ids bound while no queue runs are written back at the next start', async () => {
    const file = tempDatabase();
    const analyse = countingAnalyser();
    const first = await openQueue(file, analyse, fakeWriter());
    await first.queue.enqueue(ARRIVAL);
    await first.queue.drain();
    await first.queue.stop();
    await first.store.bindFhirIds(HOOK_JOB);
    await first.store.close();
    opened.splice(0);

    const writer = fakeWriter();
    const second = await openQueue(file, analyse, writer);
    await second.queue.drain();

    expect(writer.calls).toHaveLength(1);
    expect(await second.store.getResult(ARRIVAL)).toMatchObject({ observationId: 'obs-1' });
  });

  test('a store written by an older release gains the write-back columns', async () => {
    const file = tempDatabase();
    const old = new Database(file);
    old.exec(`CREATE TABLE analyses (
      id TEXT NOT NULL UNIQUE, study_instance_uid TEXT NOT NULL, model_id TEXT NOT NULL,
      model_version TEXT NOT NULL, status TEXT NOT NULL, job_json TEXT NOT NULL, result_json TEXT,
      observation_id TEXT, error_code TEXT, error_message TEXT, created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL, PRIMARY KEY (study_instance_uid, model_id, model_version))`);
    old
      .prepare(
        `INSERT INTO analyses VALUES ('row-1', ?, 'br-ro', '1.0.0', 'done', ?, ?, NULL, NULL, NULL,
         '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`,
      )
      .run(STUDY, JSON.stringify(HOOK_JOB), JSON.stringify(uncalibratedResult()));
    old.close();

    const store = new SqliteResultStore(file);
    try {
      expect(await store.countOwedWriteBacks()).toBe(1);
      expect((await store.claimWriteBack(new Date()))?.job).toEqual(HOOK_JOB);
    } finally {
      await store.close();
    }
  });
});
