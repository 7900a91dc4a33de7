/**
 * Runs the same behaviours against both result store engines: SQLite (`:memory:`) and PostgreSQL (a
 * database of its own for this file, emptied before each test). Then the PostgreSQL-only behaviours:
 * concurrent claims from two pools, concurrent opens of a new database, and connection failures.
 *
 * Needs PostgreSQL: `TEST_POSTGRES_URL`, or the server programs (Debian package `postgresql`) for a
 * temporary cluster. Without either the PostgreSQL tests are skipped, except under `CI=true`, where
 * they fail.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';

import pg from 'pg';
import { afterAll, afterEach, describe, expect, test } from 'vitest';

import { CardOriginIndex } from '../../cds-services/nqo1-risk/card-origins.js';
import { cardUuid } from '../../cds-services/nqo1-risk/cards.js';
import { isNqo1Error } from '../../src/errors.js';
import type { RoiOverlay } from '../../src/imaging/roi-overlay.js';
import type { AuditEvent } from '../../src/jobs/audit-trail.js';
import type { ChartRecord } from '../../src/jobs/chart-record-store.js';
import type { FeedbackRecord } from '../../src/jobs/feedback-store.js';
import { ADVISORY_LOCK_NAMESPACE, ADVISORY_LOCKS } from '../../src/jobs/postgres-schema.js';
import { openPostgresStore } from '../../src/jobs/postgres-store.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { ResultStore } from '../../src/jobs/store.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { findFreeLoopbackPort } from '../support/orthanc.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.js';
import { calibratedResult, uncalibratedResult } from '../support/score-result.js';

const skipReason = postgresSkipReason('the PostgreSQL store contract test');

const JOB: AnalysisJob = {
  studyInstanceUid: '1.2.826.0.1.7',
  imagingStudyId: 'study-7',
  patientId: 'pat-7',
  fhirServer: 'https://ehr.example/fhir',
  modelId: 'br-ro',
  modelVersion: '1.0.0',
};

/** JOB as a PACS notification enqueues it, without FHIR ids. */
const { patientId: _patient, imagingStudyId: _study, fhirServer: _server, ...ARRIVAL } = JOB;

/** JOB for another study. */
function study(studyInstanceUid: string): AnalysisJob {
  return { ...JOB, studyInstanceUid };
}

/** A clock that returns 2026-01-01T00:00:00Z plus one second more at each call. */
function tickingClock(): () => Date {
  let tick = 0;
  return () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++));
}

/** A clock that returns `time`, which the test moves. */
function settableClock(start: string): { now: () => Date; set(time: string): void } {
  let current = new Date(start);
  return {
    now: () => current,
    set(time: string) {
      current = new Date(time);
    },
  };
}

interface Engine {
  readonly name: 'sqlite' | 'postgres';
  readonly skip: boolean;
  open(now?: () => Date): Promise<ResultStore>;
}

/** Tables of the PostgreSQL store, emptied before each test. */
const POSTGRES_TABLES =
  'analyses, card_feedback, card_uuids, card_uuid_statuses, analysis_overlays, chart_records, audit_events';

let contractDatabase: TestDatabase | undefined;

const ENGINES: readonly Engine[] = [
  {
    name: 'sqlite',
    skip: false,
    open: (now) => Promise.resolve(new SqliteResultStore(':memory:', now === undefined ? {} : { now })),
  },
  {
    name: 'postgres',
    skip: skipReason !== null,
    open: async (now) => {
      if (contractDatabase === undefined) {
        contractDatabase = await createTestDatabase();
        // Creates the schema now, so that no test's clock is read by the migration.
        await (await openPostgresStore({ connectionString: contractDatabase.url, poolSize: 1 })).close();
      }
      const store = await openPostgresStore({
        connectionString: contractDatabase.url,
        poolSize: 4,
        ...(now === undefined ? {} : { now }),
      });
      await runStatement(contractDatabase.url, `TRUNCATE ${POSTGRES_TABLES} RESTART IDENTITY`);
      return store;
    },
  },
];

/** Runs one statement on a connection of its own. */
async function runStatement(url: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

const openStores: ResultStore[] = [];

afterEach(async () => {
  await Promise.all(openStores.splice(0).map((store) => store.close()));
});

afterAll(async () => {
  await contractDatabase?.drop();
});

describe.each(ENGINES)('$name result store', (engine) => {
  async function openStore(now?: () => Date): Promise<ResultStore> {
    const store = await engine.open(now);
    openStores.push(store);
    return store;
  }

  describe.skipIf(engine.skip)('analyses', () => {
    test('reports its engine name', async () => {
      const store = await openStore();

      expect(store.engine).toBe(engine.name);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    test('inserts a job once per key', async () => {
      const clock = settableClock('2026-03-01T08:00:00.000Z');
      const store = await openStore(clock.now);

      expect(await store.insertPending(JOB)).toBe(true);
      expect(await store.insertPending({ ...JOB, imagingStudyId: 'other' })).toBe(false);
      const stored = await store.getResult(JOB);
      expect(stored?.status).toBe('pending');
      expect(stored?.job).toEqual(JOB);
      expect(stored?.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(stored?.createdAt).toBe('2026-03-01T08:00:00.000Z');
      expect(stored?.updatedAt).toBe('2026-03-01T08:00:00.000Z');
      expect(await store.getById(stored!.id)).toEqual(stored);
      expect(await store.getById('no-such-id')).toBeUndefined();
      expect(await store.countByStatus()).toEqual({ pending: 1, running: 0, done: 0, failed: 0 });
    });

    test('keys rows by study, requested choice and model', async () => {
      const store = await openStore();
      await store.insertPending(JOB);

      expect(await store.insertPending({ ...JOB, modelVersion: '1.0.0-site' })).toBe(true);
      expect(await store.insertPending({ ...JOB, modelId: 'other-model' })).toBe(true);
      expect(await store.insertPending({ ...JOB, seriesInstanceUid: '1.2.3.9' })).toBe(true);
      expect(
        await store.insertPending({
          ...JOB,
          seriesInstanceUid: '1.2.3.9',
          segmentationSopInstanceUid: '1.2.3.10',
        }),
      ).toBe(true);
      expect((await store.getResult({ ...JOB, seriesInstanceUid: '1.2.3.9' }))?.job.seriesInstanceUid).toBe(
        '1.2.3.9',
      );
      expect((await store.getResult(JOB))?.job.seriesInstanceUid).toBeUndefined();
      expect(await store.getResult(study('9.9'))).toBeUndefined();
      expect((await store.countByStatus()).pending).toBe(5);
    });

    test('binds FHIR ids to a row the PACS enqueued, once', async () => {
      const clock = settableClock('2026-03-01T08:00:00.000Z');
      const store = await openStore(clock.now);
      let boundCalls = 0;
      store.onFhirIdsBound(() => boundCalls++);
      await store.insertPending(ARRIVAL);
      clock.set('2026-03-01T09:00:00.000Z');

      expect((await store.getResult(JOB))?.job.patientId).toBeUndefined();
      const bound = await store.bindFhirIds(JOB);
      expect(bound?.status).toBe('pending');
      expect(bound?.job).toEqual(JOB);
      expect(bound?.updatedAt).toBe('2026-03-01T08:00:00.000Z');
      expect(boundCalls).toBe(1);

      const again = await store.bindFhirIds({ ...JOB, patientId: 'pat-8', imagingStudyId: 'study-8' });
      expect(again?.job).toEqual(JOB);
      expect(boundCalls).toBe(1);
      expect(await store.bindFhirIds(study('9.9'))).toBeUndefined();
    });

    test('binds ids without a FHIR server and keeps the stored one', async () => {
      const store = await openStore();
      await store.insertPending({ ...ARRIVAL, fhirServer: 'https://pacs-default.example/fhir' });
      const { fhirServer: _unused, ...hookJob } = JOB;

      const bound = await store.bindFhirIds(hookJob);

      expect(bound?.job.patientId).toBe('pat-7');
      expect(bound?.job.imagingStudyId).toBe('study-7');
      expect(bound?.job.fhirServer).toBe('https://pacs-default.example/fhir');
    });

    test('lists a study with the automatic row first', async () => {
      const clock = settableClock('2026-03-01T08:00:00.000Z');
      const store = await openStore(clock.now);
      await store.insertPending({ ...JOB, seriesInstanceUid: 'series-a' });
      clock.set('2026-03-01T08:01:00.000Z');
      await store.insertPending(JOB);
      clock.set('2026-03-01T08:02:00.000Z');
      await store.insertPending({ ...JOB, seriesInstanceUid: 'series-b' });
      // Same update time as series-b: the later insertion comes first.
      await store.insertPending({ ...JOB, seriesInstanceUid: 'series-c' });
      await store.insertPending({ ...JOB, modelVersion: '2.0.0' });

      const rows = await store.listByStudy(JOB.studyInstanceUid, JOB.modelId, JOB.modelVersion);

      expect(rows.map((row) => row.job.seriesInstanceUid ?? 'automatic')).toEqual([
        'automatic',
        'series-c',
        'series-b',
        'series-a',
      ]);
      expect(await store.listByStudy('9.9', JOB.modelId, JOB.modelVersion)).toEqual([]);
    });

    test('returns keys inserted after a sequence number', async () => {
      const store = await openStore();
      await store.insertPending(study('1.1'));
      await store.insertPending(study('1.2'));
      await store.insertPending(study('1.1'));
      await store.insertPending({ ...study('1.3'), modelVersion: '2.0.0' });

      const all = await store.keysAfter(0);

      expect(all.map((key) => key.studyInstanceUid)).toEqual(['1.1', '1.2', '1.3']);
      expect(all[2]?.modelVersion).toBe('2.0.0');
      expect(all[0]!.rowid).toBeGreaterThan(0);
      expect(all[1]!.rowid).toBeGreaterThan(all[0]!.rowid);
      expect(all[2]!.rowid).toBeGreaterThan(all[1]!.rowid);
      expect((await store.keysAfter(all[0]!.rowid)).map((key) => key.studyInstanceUid)).toEqual([
        '1.2',
        '1.3',
      ]);
      expect(await store.keysAfter(all[2]!.rowid)).toEqual([]);
    });

    test('claims pending jobs oldest first', async () => {
      const clock = settableClock('2026-03-01T08:05:00.000Z');
      const store = await openStore(clock.now);
      await store.insertPending(study('1.late'));
      clock.set('2026-03-01T08:00:00.000Z');
      await store.insertPending(study('1.early-a'));
      await store.insertPending(study('1.early-b'));
      clock.set('2026-03-01T09:00:00.000Z');

      expect((await store.claimPending())?.studyInstanceUid).toBe('1.early-a');
      const claimed = await store.getResult(study('1.early-a'));
      expect(claimed?.status).toBe('running');
      expect(claimed?.updatedAt).toBe('2026-03-01T09:00:00.000Z');
      expect((await store.claimPending())?.studyInstanceUid).toBe('1.early-b');
      expect((await store.claimPending())?.studyInstanceUid).toBe('1.late');
      expect(await store.claimPending()).toBeUndefined();
      expect(await store.countByStatus()).toEqual({ pending: 0, running: 3, done: 0, failed: 0 });
    });

    test('renews a running row only', async () => {
      const clock = settableClock('2026-03-01T08:00:00.000Z');
      const store = await openStore(clock.now);
      await store.insertPending(study('1.beat'));
      expect(await store.touchRunning(study('1.beat'))).toBe(false);

      await store.claimKey(study('1.beat'), new Date('2000-01-01T00:00:00Z'));
      clock.set('2026-03-01T08:10:00.000Z');
      expect(await store.touchRunning(study('1.beat'))).toBe(true);
      expect((await store.getResult(study('1.beat')))?.updatedAt).toBe('2026-03-01T08:10:00.000Z');
      // Renewed, the row is not stalled for a timeout that started before the renewal.
      expect(await store.claimKey(study('1.beat'), new Date('2026-03-01T08:05:00.000Z'))).toBeUndefined();

      await store.markDone(study('1.beat'), calibratedResult(), 'obs-beat');
      expect(await store.touchRunning(study('1.beat'))).toBe(false);
      expect(await store.touchRunning(study('1.absent'))).toBe(false);
    });

    test('claims a key while pending, or running since before the given time', async () => {
      const store = await openStore();
      for (const uid of ['1.pending', '1.running', '1.done', '1.failed'])
        await store.insertPending(study(uid));
      const past = new Date('2000-01-01T00:00:00Z');
      const future = new Date('2100-01-01T00:00:00Z');
      await store.claimKey(study('1.running'), past);
      await store.markDone(study('1.done'), calibratedResult(), 'obs-1');
      await store.markFailed(study('1.failed'), { code: 'ERR_SEGMENTATION_MISSING', message: 'no SEG' });

      expect(await store.claimKey(study('1.pending'), past)).toEqual(study('1.pending'));
      expect((await store.getResult(study('1.pending')))?.status).toBe('running');
      // A row running since after `runningBefore` has a live worker; one running since before has none.
      expect(await store.claimKey(study('1.running'), past)).toBeUndefined();
      expect(await store.claimKey(study('1.running'), future)).toEqual(study('1.running'));
      expect(await store.claimKey(study('1.done'), future)).toBeUndefined();
      expect(await store.claimKey(study('1.failed'), future)).toBeUndefined();
      expect(await store.claimKey(study('1.absent'), future)).toBeUndefined();
      expect((await store.getResult(study('1.done')))?.status).toBe('done');
    });

    test('stores a done result with its observation id', async () => {
      const store = await openStore();
      await store.insertPending(JOB);
      await store.claimPending();
      const result = calibratedResult();

      await store.markDone(JOB, result, 'obs-1', { effectiveDateTime: '2026-02-03T10:20:30Z' });

      const stored = await store.getResult(JOB);
      expect(stored?.status).toBe('done');
      if (stored?.status !== 'done') return;
      expect(stored.result).toEqual(result);
      expect(stored.observationId).toBe('obs-1');
      expect(stored.effectiveDateTime).toBe('2026-02-03T10:20:30Z');
      expect(await store.countOwedWriteBacks()).toBe(0);
    });

    test('rejects an update of a key without a row', async () => {
      const store = await openStore();

      await expect(store.markDone(study('9.9'), uncalibratedResult())).rejects.toThrow(
        /No stored analysis for study 9\.9/,
      );
      await expect(store.markFailed(study('9.9'), { code: 'ERR_INTERNAL', message: 'x' })).rejects.toThrow(
        /insert it first/,
      );
    });

    test('records a failure and clears it when done', async () => {
      const store = await openStore();
      await store.insertPending(JOB);
      await store.claimPending();

      await store.markFailed(JOB, { code: 'ERR_SEGMENTATION_MISSING', message: 'The study has no SEG.' });
      const failed = await store.getResult(JOB);
      expect(failed?.status).toBe('failed');
      expect(failed?.status === 'failed' ? failed.failure : undefined).toEqual({
        code: 'ERR_SEGMENTATION_MISSING',
        message: 'The study has no SEG.',
      });

      await store.markDone(JOB, calibratedResult(), 'obs-2');
      const done = await store.getResult(JOB);
      expect(done?.status).toBe('done');
      expect(await store.countByStatus()).toEqual({ pending: 0, running: 0, done: 1, failed: 0 });
    });

    test('owes a write-back until the observation is recorded', async () => {
      const clock = settableClock('2026-03-01T08:00:00.000Z');
      const store = await openStore(clock.now);
      const pacsJob = { ...ARRIVAL, studyInstanceUid: '1.pacs' };
      const requestedJob = { ...JOB, seriesInstanceUid: 'series-requested' };
      for (const job of [JOB, pacsJob, requestedJob, study('1.pending')]) await store.insertPending(job);
      await store.markDone(JOB, calibratedResult(), undefined, { effectiveDateTime: '2026-02-03' });
      // Without FHIR ids, or for a requested series, a done row owes no write-back.
      await store.markDone(pacsJob, calibratedResult());
      await store.markDone(requestedJob, calibratedResult());

      expect(await store.countOwedWriteBacks()).toBe(1);
      clock.set('2026-03-01T08:10:00.000Z');
      const owed = await store.claimWriteBack(new Date('2026-03-01T08:05:00.000Z'));
      expect(owed?.job).toEqual(JOB);
      expect(owed?.result).toEqual(calibratedResult());
      expect(owed?.effectiveDateTime).toBe('2026-02-03');
      expect(owed?.analysisId).toBe((await store.getResult(JOB))?.id);

      // Attempted at 08:10: not due for a retry that needs an attempt before 08:10, due after.
      expect(await store.claimWriteBack(new Date('2026-03-01T08:10:00.000Z'))).toBeUndefined();
      expect((await store.claimWriteBack(new Date('2026-03-01T08:10:00.001Z')))?.job).toEqual(JOB);

      await store.recordObservation(JOB, 'obs-3');
      expect(await store.countOwedWriteBacks()).toBe(0);
      expect(await store.claimWriteBack(new Date('2027-01-01T00:00:00.000Z'))).toBeUndefined();
      const stored = await store.getResult(JOB);
      expect(stored?.status === 'done' ? stored.observationId : undefined).toBe('obs-3');
    });

    test('delays a write-back that failed during the analysis', async () => {
      const clock = settableClock('2026-03-01T08:00:00.000Z');
      const store = await openStore(clock.now);
      await store.insertPending(JOB);

      await store.markDone(JOB, calibratedResult(), undefined, {
        failure: { code: 'ERR_FHIR_FAILED', message: 'FHIR server returned 503' },
      });

      expect(await store.countOwedWriteBacks()).toBe(1);
      expect(await store.claimWriteBack(new Date('2026-03-01T08:00:00.000Z'))).toBeUndefined();
      expect((await store.claimWriteBack(new Date('2026-03-01T08:00:00.001Z')))?.job).toEqual(JOB);
    });

    test('stops a write-back after a permanent error until reset', async () => {
      const clock = settableClock('2026-03-01T08:00:00.000Z');
      const store = await openStore(clock.now);
      // A claim marks the row attempted at 08:00, which is not before this bound.
      const retryBefore = new Date('2026-03-01T08:00:00.000Z');
      await store.insertPending(JOB);
      await store.insertPending(study('1.transient'));
      await store.markDone(JOB, calibratedResult());
      await store.markDone(study('1.transient'), calibratedResult());

      await store.recordWriteBackFailure(JOB, { code: 'ERR_PATIENT_CONFLICT', message: 'other patient' });
      await store.recordWriteBackFailure(study('1.transient'), { code: 'ERR_FHIR_FAILED', message: '503' });

      expect(await store.countOwedWriteBacks()).toBe(1);
      expect(await store.countStoppedWriteBacks()).toBe(1);
      expect((await store.claimWriteBack(retryBefore))?.job.studyInstanceUid).toBe('1.transient');
      expect(await store.claimWriteBack(retryBefore)).toBeUndefined();

      expect(await store.resetWriteBackAttempts()).toBe(2);
      expect(await store.countOwedWriteBacks()).toBe(2);
      expect(await store.countStoppedWriteBacks()).toBe(0);
      // The reset makes both due at once, however early the retry bound.
      const earliest = new Date('2000-01-01T00:00:00.000Z');
      const claimed = [await store.claimWriteBack(earliest), await store.claimWriteBack(earliest)];
      expect(claimed.map((owed) => owed?.job.studyInstanceUid)).toEqual([
        JOB.studyInstanceUid,
        '1.transient',
      ]);
    });

    test('stops a write-back the FHIR server rejected', async () => {
      const store = await openStore();
      await store.insertPending(JOB);
      await store.markDone(JOB, calibratedResult());

      await store.recordWriteBackFailure(JOB, { code: 'ERR_FHIR_REJECTED', message: '422' });

      expect(await store.countOwedWriteBacks()).toBe(0);
      expect(await store.countStoppedWriteBacks()).toBe(1);
    });

    test('requeues a failed row', async () => {
      const clock = settableClock('2026-03-01T08:00:00.000Z');
      const store = await openStore(clock.now);
      await store.insertPending(JOB);
      await store.insertPending(study('1.pending'));
      await store.markFailed(JOB, { code: 'ERR_SEGMENTATION_MISSING', message: 'no SEG' });
      clock.set('2026-03-01T09:00:00.000Z');

      expect(await store.requeueFailed(JOB, new Date('2026-03-01T08:00:00.000Z'))).toBe(false);
      expect(await store.requeueFailed(study('1.pending'), null)).toBe(false);
      expect(await store.requeueFailed(study('9.9'), null)).toBe(false);
      expect(await store.requeueFailed(JOB, new Date('2026-03-01T08:00:00.001Z'))).toBe(true);
      const requeued = await store.getResult(JOB);
      expect(requeued?.status).toBe('pending');
      expect(requeued?.updatedAt).toBe('2026-03-01T09:00:00.000Z');
    });

    test('requeues a failed row at any time without a bound', async () => {
      const clock = settableClock('2026-03-01T08:00:00.000Z');
      const store = await openStore(clock.now);
      await store.insertPending(JOB);
      await store.markFailed(JOB, { code: 'ERR_SEGMENTATION_MISSING', message: 'no SEG' });

      expect(await store.requeueFailed(JOB, null)).toBe(true);
      expect(await store.requeueFailed(JOB, null)).toBe(false);
      expect((await store.getResult(JOB))?.status).toBe('pending');
    });

    test('requeues rows left running', async () => {
      const store = await openStore();
      for (const uid of ['1.a', '1.b', '1.c']) await store.insertPending(study(uid));
      await store.claimPending();
      await store.claimPending();
      await store.markDone(study('1.c'), calibratedResult(), 'obs');

      expect(await store.requeueRunning()).toBe(2);
      expect(await store.countByStatus()).toEqual({ pending: 2, running: 0, done: 1, failed: 0 });
      expect(await store.requeueRunning()).toBe(0);
    });

    test('lists stalled rows oldest first', async () => {
      const clock = settableClock('2026-03-01T08:00:00.000Z');
      const store = await openStore(clock.now);
      await store.insertPending(study('1.old-pending'));
      await store.insertPending({
        ...JOB,
        seriesInstanceUid: 'series-a',
        segmentationSopInstanceUid: 'seg-a',
      });
      await store.claimKey(
        { ...JOB, seriesInstanceUid: 'series-a', segmentationSopInstanceUid: 'seg-a' },
        new Date('2000-01-01T00:00:00Z'),
      );
      clock.set('2026-03-01T09:00:00.000Z');
      await store.insertPending(study('1.new-pending'));
      await store.insertPending(study('1.done'));
      await store.markDone(study('1.done'), calibratedResult(), 'obs');

      const stalled = await store.listStalled(
        new Date('2026-03-01T08:30:00.000Z'),
        new Date('2026-03-01T08:30:00.000Z'),
        10,
      );

      expect(stalled).toEqual([
        { studyInstanceUid: '1.old-pending', modelId: JOB.modelId, modelVersion: JOB.modelVersion },
        {
          studyInstanceUid: JOB.studyInstanceUid,
          seriesInstanceUid: 'series-a',
          segmentationSopInstanceUid: 'seg-a',
          modelId: JOB.modelId,
          modelVersion: JOB.modelVersion,
        },
      ]);
      expect(await store.listStalled(new Date('2026-03-01T08:30:00.000Z'), new Date(0), 10)).toHaveLength(1);
      expect(await store.listStalled(new Date('2030-01-01T00:00:00.000Z'), new Date(0), 1)).toEqual([
        { studyInstanceUid: '1.old-pending', modelId: JOB.modelId, modelVersion: JOB.modelVersion },
      ]);
    });
  });

  describe.skipIf(engine.skip)('feedback', () => {
    function feedback(overrides: Partial<FeedbackRecord> = {}): FeedbackRecord {
      return {
        cardUuid: '5a1b2c3d-0000-5000-8000-000000000001',
        outcome: 'accepted',
        outcomeTimestamp: '2026-03-01T08:00:00.000Z',
        serviceId: 'nqo1-risk',
        origin: { modelId: 'br-ro', modelVersion: '1.0.0', cardStatus: 'done-high', studyInstanceUid: '1.2' },
        ...overrides,
      };
    }

    test('stores each feedback entry once', async () => {
      const store = await openStore();

      expect(await store.feedback.insert([feedback(), feedback()])).toBe(1);
      expect(
        await store.feedback.insert([feedback(), feedback({ outcomeTimestamp: '2026-03-01T08:00:01.000Z' })]),
      ).toBe(1);
      expect(await store.feedback.insert([])).toBe(0);
    });

    test('counts outcomes and reasons per model version', async () => {
      const store = await openStore();
      const overridden = (n: number, reason: FeedbackRecord['overrideReason']): FeedbackRecord =>
        feedback({
          cardUuid: `5a1b2c3d-0000-5000-8000-00000000010${n}`,
          outcome: 'overridden',
          ...(reason === undefined ? {} : { overrideReason: reason }),
        });
      await store.feedback.insert([
        feedback({ acceptedSuggestionIds: ['record-result'], userComment: 'agreed' }),
        overridden(1, { system: 'http://snomed.info/sct', code: 'b-code', display: 'B' }),
        overridden(2, { code: 'b-code' }),
        overridden(3, { system: 'http://snomed.info/sct', code: 'b-code' }),
        overridden(4, { system: 'urn:local', code: 'a-code' }),
        overridden(5, undefined),
        feedback({
          cardUuid: '5a1b2c3d-0000-5000-8000-000000000200',
          origin: { modelId: 'br-ro', modelVersion: '0.9.0' },
        }),
      ]);

      const counts = await store.feedback.countByModel();

      expect(counts).toEqual([
        {
          modelId: 'br-ro',
          modelVersion: '0.9.0',
          accepted: 1,
          overridden: 0,
          unlinked: 1,
          overrideReasons: [],
        },
        {
          modelId: 'br-ro',
          modelVersion: '1.0.0',
          accepted: 1,
          overridden: 5,
          unlinked: 0,
          overrideReasons: [
            { system: 'http://snomed.info/sct', code: 'b-code', count: 2 },
            { system: 'urn:local', code: 'a-code', count: 1 },
            { system: null, code: 'b-code', count: 1 },
          ],
        },
      ]);
    });

    test('orders tied reasons by code, then a missing system first', async () => {
      const store = await openStore();
      await store.feedback.insert(
        [
          { system: 'urn:z', code: 'same' },
          { code: 'same' },
          { system: 'urn:a', code: 'same' },
          { system: 'urn:a', code: 'Upper' },
        ].map((reason, n) =>
          feedback({
            cardUuid: `5a1b2c3d-0000-5000-8000-00000000030${n}`,
            outcome: 'overridden',
            overrideReason: reason,
          }),
        ),
      );

      const [counts] = await store.feedback.countByModel();

      // Byte order puts upper case before lower case, as SQLite's BINARY collation does.
      expect(counts?.overrideReasons.map((reason) => `${reason.code}|${reason.system ?? 'none'}`)).toEqual([
        'Upper|urn:a',
        'same|none',
        'same|urn:a',
        'same|urn:z',
      ]);
    });

    test('indexes card uuids of stored analyses', async () => {
      const store = await openStore();
      await store.insertPending(study('1.first'));
      const index = new CardOriginIndex(store);
      const modelCard = { id: JOB.modelId, version: JOB.modelVersion };

      const first = await index.find(cardUuid({ studyInstanceUid: '1.first', modelCard }, 'done-high'));
      expect(first).toEqual({
        modelId: JOB.modelId,
        modelVersion: JOB.modelVersion,
        cardStatus: 'done-high',
        studyInstanceUid: '1.first',
      });
      const firstRowid = await store.feedback.lastIndexedAnalysisRowid();
      expect(firstRowid).toBe((await store.keysAfter(0))[0]?.rowid);

      await store.insertPending(study('1.second'));
      const second = await index.find(
        cardUuid({ studyInstanceUid: '1.second', modelCard }, 'failed-segmentation'),
      );
      expect(second?.studyInstanceUid).toBe('1.second');
      expect(await store.feedback.lastIndexedAnalysisRowid()).toBeGreaterThan(firstRowid);
      expect(await index.find('00000000-0000-5000-8000-000000000000')).toBeUndefined();
    });

    test('keeps a stored card uuid and resets on other statuses', async () => {
      const store = await openStore();
      const origin = {
        modelId: 'br-ro',
        modelVersion: '1.0.0',
        cardStatus: 'done-high',
        studyInstanceUid: '1.2',
      };
      await store.feedback.resetCardUuidsUnlessIndexed(['done-high']);
      await store.feedback.indexCardUuids([{ cardUuid: 'uuid-1', analysisRowid: 7, origin }]);
      await store.feedback.indexCardUuids([
        { cardUuid: 'uuid-1', analysisRowid: 9, origin: { ...origin, cardStatus: 'done-low' } },
        { cardUuid: 'uuid-2', analysisRowid: 8, origin: { ...origin, studyInstanceUid: '1.3' } },
      ]);

      expect(await store.feedback.findCardOrigin('uuid-1')).toEqual(origin);
      expect((await store.feedback.findCardOrigin('uuid-2'))?.studyInstanceUid).toBe('1.3');
      expect(await store.feedback.lastIndexedAnalysisRowid()).toBe(8);

      await store.feedback.resetCardUuidsUnlessIndexed(['done-high']);
      expect(await store.feedback.lastIndexedAnalysisRowid()).toBe(8);
      await store.feedback.resetCardUuidsUnlessIndexed(['done-high', 'done-low']);
      expect(await store.feedback.lastIndexedAnalysisRowid()).toBe(0);
      expect(await store.feedback.findCardOrigin('uuid-1')).toBeUndefined();
    });
  });

  describe.skipIf(engine.skip)('overlays, chart records and audit trail', () => {
    function overlay(levelHu: number, pngBytes: readonly (readonly number[])[]): RoiOverlay {
      return {
        window: { levelHu, widthHu: 350.5 },
        cropVoxels: { iMin: 0, iMax: 9, jMin: 0, jMax: 9 },
        pixelsPerVoxel: [2, 2],
        slices: pngBytes.map((bytes, n) => ({
          sliceIndex: 10 + n,
          tumourVoxelCount: 100 * (n + 1),
          widthPx: 20,
          heightPx: 18,
          png: Uint8Array.from(bytes),
        })),
      };
    }

    test('saves, replaces and reads region pictures', async () => {
      const store = await openStore();
      const bytes = [0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x0d, 0x0a];
      await store.overlays.save('analysis-1', overlay(40, [bytes, [1, 2, 3]]));
      await store.overlays.save('analysis-2', overlay(60, [[9]]));

      expect(await store.overlays.list('analysis-1')).toEqual([
        {
          sliceIndex: 10,
          tumourVoxelCount: 100,
          widthPx: 20,
          heightPx: 18,
          window: { levelHu: 40, widthHu: 350.5 },
        },
        {
          sliceIndex: 11,
          tumourVoxelCount: 200,
          widthPx: 20,
          heightPx: 18,
          window: { levelHu: 40, widthHu: 350.5 },
        },
      ]);
      const png = await store.overlays.png('analysis-1', 10);
      expect(png).toBeInstanceOf(Uint8Array);
      expect([...(png ?? [])]).toEqual(bytes);

      await store.overlays.save('analysis-1', overlay(-20.25, [[7, 7]]));
      const replaced = await store.overlays.list('analysis-1');
      expect(replaced.map((slice) => slice.sliceIndex)).toEqual([10]);
      expect(replaced[0]?.window.levelHu).toBe(-20.25);
      expect([...((await store.overlays.png('analysis-1', 10)) ?? [])]).toEqual([7, 7]);
      expect(await store.overlays.png('analysis-1', 11)).toBeUndefined();
      expect(await store.overlays.list('analysis-2')).toHaveLength(1);
      expect(await store.overlays.list('analysis-3')).toEqual([]);
    });

    test('returns the latest chart record of a study', async () => {
      const store = await openStore();
      const record = (overrides: Partial<ChartRecord>): ChartRecord => ({
        analysisId: 'analysis-1',
        studyInstanceUid: '1.2',
        modelId: 'br-ro',
        modelVersion: '1.0.0',
        observationId: 'obs-1',
        status: 'final',
        clinician: { reference: 'Practitioner/1' },
        recordedAt: '2026-03-01T08:00:00.000Z',
        ...overrides,
      });
      await store.chartRecords.add(record({}));
      await store.chartRecords.add(
        record({
          status: 'amended',
          observationVersionId: '2',
          provenanceId: 'prov-1',
          clinician: { reference: 'Practitioner/2', display: 'Dr. Wang' },
          recordedAt: '2026-03-01T09:00:00.000Z',
        }),
      );
      // Same time as the amended record, inserted later: it is the latest.
      await store.chartRecords.add(
        record({ analysisId: 'analysis-2', recordedAt: '2026-03-01T09:00:00.000Z' }),
      );
      await store.chartRecords.add(record({ modelVersion: '2.0.0', recordedAt: '2026-03-02T09:00:00.000Z' }));

      expect(
        await store.chartRecords.latestForStudy({
          studyInstanceUid: '1.2',
          modelId: 'br-ro',
          modelVersion: '1.0.0',
        }),
      ).toEqual(record({ analysisId: 'analysis-2', recordedAt: '2026-03-01T09:00:00.000Z' }));
      expect(
        await store.chartRecords.latestForStudy({
          studyInstanceUid: '1.9',
          modelId: 'br-ro',
          modelVersion: '1.0.0',
        }),
      ).toBeUndefined();
    });

    test('returns the fields of an amended chart record', async () => {
      const store = await openStore();
      const amended: ChartRecord = {
        analysisId: 'analysis-1',
        studyInstanceUid: '1.2',
        modelId: 'br-ro',
        modelVersion: '1.0.0',
        observationId: 'obs-1',
        observationVersionId: '3',
        status: 'amended',
        provenanceId: 'prov-1',
        clinician: { reference: 'Practitioner/2', display: 'Dr. Wang' },
        recordedAt: '2026-03-01T09:00:00.000Z',
      };
      await store.chartRecords.add(amended);

      expect(await store.chartRecords.latestForStudy(amended)).toEqual(amended);
    });

    test('records and pages audit events', async () => {
      const store = await openStore(tickingClock());
      const event = (n: number): AuditEvent => ({
        action: n % 2 === 0 ? 'read' : 'compute',
        actor:
          n === 0
            ? { kind: 'fhir-user', id: `Practitioner/${'x'.repeat(300)}` }
            : { kind: 'service', id: 'service' },
        ...(n === 1 ? {} : { analysisId: `analysis-${n}` }),
        studyInstanceUid: `1.${n}`,
        modelId: 'br-ro',
        modelVersion: '1.0.0',
        outcome: n === 3 ? 'failure' : 'success',
        ...(n === 3 ? { errorCode: 'ERR_SEGMENTATION_MISSING' as const } : {}),
      });
      for (let n = 0; n < 5; n++) await store.audit.record(event(n));

      const all = await store.audit.list({ limit: 100 });
      expect(all.map((row) => row.recordedAt)).toEqual([
        '2026-01-01T00:00:00.000Z',
        '2026-01-01T00:00:01.000Z',
        '2026-01-01T00:00:02.000Z',
        '2026-01-01T00:00:03.000Z',
        '2026-01-01T00:00:04.000Z',
      ]);
      expect(all.map((row) => row.sequence)).toEqual([1, 2, 3, 4, 5]);
      expect(all[0]?.actor.id).toHaveLength(256);
      expect(all[1]).toEqual({ ...event(1), sequence: 2, recordedAt: '2026-01-01T00:00:01.000Z' });
      expect(all[3]).toEqual({ ...event(3), sequence: 4, recordedAt: '2026-01-01T00:00:03.000Z' });

      const window = await store.audit.list({
        since: '2026-01-01T00:00:01.000Z',
        until: '2026-01-01T00:00:04.000Z',
        limit: 100,
      });
      expect(window.map((row) => row.studyInstanceUid)).toEqual(['1.1', '1.2', '1.3']);
      expect(
        (await store.audit.list({ since: '2026-01-01T00:00:03', limit: 100 })).map((row) => row.sequence),
      ).toEqual([4, 5]);

      const firstPage = await store.audit.list({ limit: 2 });
      const secondPage = await store.audit.list({ afterSequence: firstPage.at(-1)!.sequence, limit: 2 });
      const lastPage = await store.audit.list({ afterSequence: secondPage.at(-1)!.sequence, limit: 2 });
      expect([...firstPage, ...secondPage, ...lastPage].map((row) => row.sequence)).toEqual([1, 2, 3, 4, 5]);
      expect(await store.audit.list({ afterSequence: 5, limit: 2 })).toEqual([]);
    });
  });
});

describe.skipIf(skipReason !== null)('PostgreSQL store under several processes', () => {
  const databases: TestDatabase[] = [];

  async function freshDatabase(): Promise<TestDatabase> {
    const database = await createTestDatabase();
    databases.push(database);
    return database;
  }

  afterAll(async () => {
    await Promise.all(databases.map((database) => database.drop()));
  });

  test('two pools claim forty rows without duplicates', async () => {
    const database = await freshDatabase();
    const stores = await Promise.all(
      [1, 2].map(() => openPostgresStore({ connectionString: database.url, poolSize: 4 })),
    );
    openStores.push(...stores);
    for (let n = 0; n < 40; n++) await stores[0]!.insertPending(study(`1.${n}`));

    // Four claim loops per store, all running at once.
    const claimed: string[][] = await Promise.all(
      stores.flatMap((store) =>
        [1, 2, 3, 4].map(async () => {
          const mine: string[] = [];
          for (let job = await store.claimPending(); job !== undefined; job = await store.claimPending()) {
            mine.push(job.studyInstanceUid);
          }
          return mine;
        }),
      ),
    );

    const all = claimed.flat();
    expect(all).toHaveLength(40);
    expect(new Set(all).size).toBe(40);
    expect(await stores[1]!.countByStatus()).toEqual({ pending: 0, running: 40, done: 0, failed: 0 });
  });

  test('two pools claim each owed write-back once', async () => {
    const database = await freshDatabase();
    const stores = await Promise.all(
      [1, 2].map(() => openPostgresStore({ connectionString: database.url, poolSize: 3 })),
    );
    openStores.push(...stores);
    for (let n = 0; n < 20; n++) {
      await stores[0]!.insertPending(study(`1.${n}`));
      await stores[0]!.markDone(study(`1.${n}`), calibratedResult());
    }

    // A claim marks the row attempted now, which is not before this bound, so each row is claimed once.
    const retryBefore = new Date();
    const claimed = await Promise.all(
      stores.flatMap((store) =>
        [1, 2, 3].map(async () => {
          const mine: string[] = [];
          for (let owed = await store.claimWriteBack(retryBefore); owed !== undefined;) {
            mine.push(owed.job.studyInstanceUid);
            owed = await store.claimWriteBack(retryBefore);
          }
          return mine;
        }),
      ),
    );

    const all = claimed.flat();
    expect(all).toHaveLength(20);
    expect(new Set(all).size).toBe(20);
    expect(await stores[0]!.countOwedWriteBacks()).toBe(20);
  });

  test('two pools enqueue one study once', async () => {
    const database = await freshDatabase();
    const stores = await Promise.all(
      [1, 2].map(() => openPostgresStore({ connectionString: database.url, poolSize: 4 })),
    );
    openStores.push(...stores);

    const inserted = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        stores[n % 2]!.insertPending({ ...JOB, imagingStudyId: `study-${n}` }),
      ),
    );

    expect(inserted.filter(Boolean)).toHaveLength(1);
    expect(await stores[0]!.countByStatus()).toEqual({ pending: 1, running: 0, done: 0, failed: 0 });
  });

  test('four stores open a new database at once', async () => {
    const database = await freshDatabase();

    const stores = await Promise.all(
      [1, 2, 3, 4].map(() => openPostgresStore({ connectionString: database.url, poolSize: 1 })),
    );
    openStores.push(...stores);

    expect(await stores[3]!.insertPending(JOB)).toBe(true);
    expect((await stores[0]!.getResult(JOB))?.status).toBe('pending');
    const version = await runStatement(database.url, 'SELECT version FROM store_schema_version');
    expect(version.rows).toEqual([{ version: 1 }]);
  });

  test('rejects a database of a newer schema version', async () => {
    const database = await freshDatabase();
    openStores.push(await openPostgresStore({ connectionString: database.url, poolSize: 1 }));
    await runStatement(database.url, 'UPDATE store_schema_version SET version = 99');

    const error: unknown = await openPostgresStore({ connectionString: database.url, poolSize: 1 }).catch(
      (caught: unknown) => caught,
    );

    expect(isNqo1Error(error, 'ERR_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/schema version 99/);
  });

  test('inserts wait for the insert lock until commit', async () => {
    const database = await freshDatabase();
    const store = await openPostgresStore({ connectionString: database.url, poolSize: 2 });
    openStores.push(store);
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, $2)', [
        ADVISORY_LOCK_NAMESPACE,
        ADVISORY_LOCKS.analysesInsert,
      ]);
      let settled = false;
      const insert = store.insertPending(JOB).finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);

      await holder.query('COMMIT');
      expect(await insert).toBe(true);
    } finally {
      await holder.end();
    }
  });

  test('fails fast on a closed port without the password', async () => {
    const port = await findFreeLoopbackPort();
    const password = 'very-secret-password-123';
    const started = Date.now();

    const error: unknown = await openPostgresStore({
      connectionString: `postgres://nqo1:${password}@127.0.0.1:${port}/nqo1`,
      poolSize: 2,
      connectionTimeoutMs: 2000,
      urlEnvName: 'NQO1_POSTGRES_URL',
    }).catch((caught: unknown) => caught);

    expect(Date.now() - started).toBeLessThan(3000);
    expect(isNqo1Error(error, 'ERR_STORE_UNAVAILABLE')).toBe(true);
    const message = (error as Error).message;
    expect(message).toMatch(/ECONNREFUSED/);
    expect(message).toMatch(/NQO1_POSTGRES_URL/);
    expect(message).not.toContain(password);
    expect(message).not.toContain(`nqo1:${password}`);
    expect(JSON.stringify(error)).not.toContain(password);
    expect((error as Error).cause).toBeUndefined();
  });

  test('times out on a server that never replies', async () => {
    // Accepts TCP connections on loopback and never sends a byte, like a server behind a dropped route.
    const silent = createServer(() => undefined);
    const sockets: Socket[] = [];
    silent.on('connection', (socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const started = Date.now();

    try {
      const error: unknown = await openPostgresStore({
        connectionString: `postgres://nqo1:silent-secret@127.0.0.1:${port}/nqo1`,
        poolSize: 1,
        connectionTimeoutMs: 500,
      }).catch((caught: unknown) => caught);

      expect(Date.now() - started).toBeLessThan(2000);
      expect(isNqo1Error(error, 'ERR_STORE_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).toMatch(/connection timeout/);
      expect((error as Error).message).not.toContain('silent-secret');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('reports a wrong password without the password', async () => {
    const database = await freshDatabase();
    const url = new URL(database.url);
    url.password = 'wrong-password-456';

    const error: unknown = await openPostgresStore({ connectionString: url.toString(), poolSize: 1 }).catch(
      (caught: unknown) => caught,
    );

    expect(isNqo1Error(error, 'ERR_STORE_UNAVAILABLE')).toBe(true);
    const message = (error as Error).message;
    expect(message).toMatch(/SQLSTATE 28P01/);
    expect(message).toMatch(/store\.postgresUrlEnv/);
    expect(message).not.toContain('wrong-password-456');
  });

  test('reports an invalid URL without repeating it', async () => {
    // Port 99999 is out of range, so the URL fails to parse before any connection or name lookup.
    const secretUrl = 'postgres://nqo1:secret-in-bad-url@127.0.0.1:99999/db';

    const error: unknown = await openPostgresStore({ connectionString: secretUrl, poolSize: 1 }).catch(
      (caught: unknown) => caught,
    );

    expect(isNqo1Error(error, 'ERR_STORE_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/an invalid URL/);
    expect((error as Error).message).not.toContain('secret-in-bad-url');
  });

  test('fails a query after the server closed its connections', async () => {
    const database = await freshDatabase();
    const store = await openPostgresStore({ connectionString: database.url, poolSize: 1 });
    openStores.push(store);
    await store.ping();

    await database.drop();

    const error: unknown = await store.ping().catch((caught: unknown) => caught);
    expect(isNqo1Error(error, 'ERR_STORE_UNAVAILABLE')).toBe(true);
  });
});
