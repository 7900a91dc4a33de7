import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, test } from 'vitest';

import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { uncalibratedResult } from '../support/score-result.js';

const AUTOMATIC: AnalysisJob = {
  studyInstanceUid: '1.2.826.0.1.7',
  imagingStudyId: 'study-7',
  patientId: 'pat-7',
  modelId: 'br-ro',
  modelVersion: '1.0.0',
};

const REQUESTED: AnalysisJob = { ...AUTOMATIC, seriesInstanceUid: '1.2.826.0.1.7.2' };

let store: SqliteResultStore | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
});

function openStore(file = ':memory:'): SqliteResultStore {
  store = new SqliteResultStore(file);
  return store;
}

/**
 * The `analyses` table as the release before the requested series joined the key created it,
 * keyed by (study, model id, model version).
 */
const KEY_WITHOUT_SERIES_SCHEMA = `
CREATE TABLE analyses (
  id                  TEXT NOT NULL UNIQUE,
  study_instance_uid  TEXT NOT NULL,
  model_id            TEXT NOT NULL,
  model_version       TEXT NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  job_json            TEXT NOT NULL,
  result_json         TEXT,
  observation_id      TEXT,
  effective_date_time TEXT,
  writeback_attempted_at  TEXT,
  writeback_error_code    TEXT,
  writeback_error_message TEXT,
  error_code          TEXT,
  error_message       TEXT,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  PRIMARY KEY (study_instance_uid, model_id, model_version)
);
CREATE INDEX analyses_pending ON analyses (status, created_at);
`;

/** The first release's table: the same key, without the write-back columns. */
const FIRST_RELEASE_SCHEMA = `
CREATE TABLE analyses (
  id                  TEXT NOT NULL UNIQUE,
  study_instance_uid  TEXT NOT NULL,
  model_id            TEXT NOT NULL,
  model_version       TEXT NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  job_json            TEXT NOT NULL,
  result_json         TEXT,
  observation_id      TEXT,
  error_code          TEXT,
  error_message       TEXT,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  PRIMARY KEY (study_instance_uid, model_id, model_version)
);
`;

interface OldRow {
  readonly id: string;
  readonly study: string;
  readonly status: 'pending' | 'running' | 'done' | 'failed';
}

/** Writes a database file with `schema` and `rows`, deleting one row first so rowids have a gap. */
function writeOldFile(schema: string, rows: readonly OldRow[]): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'nqo1-store-key-')), 'results.sqlite');
  const db = new Database(file);
  db.exec(schema);
  const insert = db.prepare(
    `INSERT INTO analyses (id, study_instance_uid, model_id, model_version, status, job_json, result_json,
       error_code, error_message, created_at, updated_at)
     VALUES (?, ?, 'br-ro', '1.0.0', ?, ?, ?, ?, ?, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`,
  );
  insert.run(
    'deleted',
    '9.9.9',
    'pending',
    JSON.stringify({ ...AUTOMATIC, studyInstanceUid: '9.9.9' }),
    null,
    null,
    null,
  );
  for (const row of rows) {
    insert.run(
      row.id,
      row.study,
      row.status,
      JSON.stringify({ ...AUTOMATIC, studyInstanceUid: row.study }),
      row.status === 'done' ? JSON.stringify(uncalibratedResult()) : null,
      row.status === 'failed' ? 'ERR_SEGMENTATION_MISSING' : null,
      row.status === 'failed' ? 'no SEG' : null,
    );
  }
  db.prepare(`DELETE FROM analyses WHERE id = 'deleted'`).run();
  db.close();
  return file;
}

const OLD_ROWS: readonly OldRow[] = [
  { id: 'row-done', study: '1.1', status: 'done' },
  { id: 'row-failed', study: '1.2', status: 'failed' },
  { id: 'row-pending', study: '1.3', status: 'pending' },
];

describe('SqliteResultStore key with requested series', () => {
  test('inserts the same full key once', async () => {
    const s = openStore();

    expect(await s.insertPending(REQUESTED)).toBe(true);
    expect(await s.insertPending({ ...REQUESTED, imagingStudyId: 'other' })).toBe(false);
    expect((await s.countByStatus()).pending).toBe(1);
  });

  test('gives each requested choice its own row', async () => {
    const s = openStore();
    await s.insertPending(AUTOMATIC);

    expect(await s.insertPending(REQUESTED)).toBe(true);
    expect(await s.insertPending({ ...REQUESTED, seriesInstanceUid: '1.2.826.0.1.7.3' })).toBe(true);
    expect(await s.insertPending({ ...REQUESTED, segmentationSopInstanceUid: '1.2.826.0.1.7.9.1' })).toBe(
      true,
    );
    expect((await s.countByStatus()).pending).toBe(4);
  });

  test('reads the automatic row without a requested series', async () => {
    const s = openStore();
    await s.insertPending(REQUESTED);

    expect(await s.getResult(AUTOMATIC)).toBeUndefined();
    await s.insertPending(AUTOMATIC);
    const automatic = await s.getResult(AUTOMATIC);
    const requested = await s.getResult(REQUESTED);

    expect(automatic?.job.seriesInstanceUid).toBeUndefined();
    expect(requested?.job.seriesInstanceUid).toBe('1.2.826.0.1.7.2');
    expect(requested?.id).not.toBe(automatic?.id);
  });

  test('updates only the row of its key', async () => {
    const s = openStore();
    await s.insertPending(AUTOMATIC);
    await s.insertPending(REQUESTED);

    await s.markFailed(REQUESTED, { code: 'ERR_REQUESTED_SERIES_INVALID', message: 'not CT' });

    expect((await s.getResult(REQUESTED))?.status).toBe('failed');
    expect((await s.getResult(AUTOMATIC))?.status).toBe('pending');
  });

  test('owes no write-back for a requested row', async () => {
    const s = openStore();
    await s.insertPending(REQUESTED);
    await s.markDone(REQUESTED, uncalibratedResult());

    expect(await s.countOwedWriteBacks()).toBe(0);
    expect(await s.claimWriteBack(new Date())).toBeUndefined();

    await s.insertPending(AUTOMATIC);
    await s.markDone(AUTOMATIC, uncalibratedResult());
    expect(await s.countOwedWriteBacks()).toBe(1);
    expect((await s.claimWriteBack(new Date()))?.job).toEqual(AUTOMATIC);
  });

  test('requeues a failure of any age with null', async () => {
    const s = openStore();
    await s.insertPending(REQUESTED);
    await s.markFailed(REQUESTED, { code: 'ERR_SEGMENTATION_MISSING', message: 'no SEG' });

    expect(await s.requeueFailed(REQUESTED, new Date(0))).toBe(false);
    expect(await s.requeueFailed(REQUESTED, null)).toBe(true);
    expect((await s.getResult(REQUESTED))?.status).toBe('pending');
    expect(await s.requeueFailed(REQUESTED, null)).toBe(false);
  });

  test('binds FHIR ids only to the automatic row', async () => {
    const s = openStore();
    const { patientId: _patient, imagingStudyId: _study, ...arrival } = AUTOMATIC;
    await s.insertPending(arrival);

    expect((await s.bindFhirIds(AUTOMATIC))?.job).toEqual(AUTOMATIC);
    expect(await s.bindFhirIds(REQUESTED)).toBeUndefined();
  });
});

describe('SqliteResultStore upgrade of an older file', () => {
  test.each([
    ['key without series', KEY_WITHOUT_SERIES_SCHEMA],
    ['first release', FIRST_RELEASE_SCHEMA],
  ])('keeps rows, ids, statuses and rowids (%s)', async (_name, schema) => {
    const file = writeOldFile(schema, OLD_ROWS);
    const s = openStore(file);

    const done = await s.getResult({ ...AUTOMATIC, studyInstanceUid: '1.1' });
    expect(done).toMatchObject({ id: 'row-done', status: 'done', result: uncalibratedResult() });
    expect(await s.getResult({ ...AUTOMATIC, studyInstanceUid: '1.2' })).toMatchObject({
      id: 'row-failed',
      status: 'failed',
      failure: { code: 'ERR_SEGMENTATION_MISSING', message: 'no SEG' },
    });
    expect(await s.getResult({ ...AUTOMATIC, studyInstanceUid: '1.3' })).toMatchObject({
      id: 'row-pending',
      status: 'pending',
    });
    expect(await s.countByStatus()).toEqual({ pending: 1, running: 0, done: 1, failed: 1 });
    expect((await s.keysAfter(0)).map((key) => [key.rowid, key.studyInstanceUid])).toEqual([
      [2, '1.1'],
      [3, '1.2'],
      [4, '1.3'],
    ]);
  });

  test('keys the upgraded table by requested series', async () => {
    const file = writeOldFile(KEY_WITHOUT_SERIES_SCHEMA, OLD_ROWS);
    const s = openStore(file);
    const study = { ...AUTOMATIC, studyInstanceUid: '1.1' };

    expect(await s.insertPending(study)).toBe(false);
    expect(await s.insertPending({ ...study, seriesInstanceUid: '1.1.2' })).toBe(true);
    expect((await s.keysAfter(4)).map((key) => key.rowid)).toEqual([5]);
  });

  test('upgrades once and keeps rows across reopen', async () => {
    const file = writeOldFile(KEY_WITHOUT_SERIES_SCHEMA, OLD_ROWS);
    await openStore(file).insertPending({
      ...AUTOMATIC,
      studyInstanceUid: '1.1',
      seriesInstanceUid: '1.1.2',
    });
    await store?.close();

    const reopened = openStore(file);

    expect((await reopened.getResult({ ...AUTOMATIC, studyInstanceUid: '1.1' }))?.id).toBe('row-done');
    expect(
      (await reopened.getResult({ ...AUTOMATIC, studyInstanceUid: '1.1', seriesInstanceUid: '1.1.2' }))
        ?.status,
    ).toBe('pending');
    expect(await reopened.countByStatus()).toEqual({ pending: 2, running: 0, done: 1, failed: 1 });
  });

  test('leaves no temporary table and keeps the pending index', async () => {
    const file = writeOldFile(KEY_WITHOUT_SERIES_SCHEMA, OLD_ROWS);
    openStore(file);
    await store?.close();
    store = undefined;

    const db = new Database(file, { readonly: true });
    const names = db
      .prepare<[], { name: string }>(
        `SELECT name FROM sqlite_master WHERE tbl_name LIKE 'analyses%' ORDER BY name`,
      )
      .all()
      .map((row) => row.name);
    db.close();

    expect(names).toEqual([
      'analyses',
      'analyses_pending',
      'sqlite_autoindex_analyses_1',
      'sqlite_autoindex_analyses_2',
    ]);
  });
});
