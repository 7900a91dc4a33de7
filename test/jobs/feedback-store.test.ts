import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, test } from 'vitest';

import {
  SqliteFeedbackStore,
  MAX_REASONS_PER_MODEL,
  type FeedbackRecord,
} from '../../src/jobs/feedback-store.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';

const RECEIVED_AT = new Date('2026-12-05T09:00:00Z');

const ACCEPTED: FeedbackRecord = {
  cardUuid: '3f0c4d2e-6a1b-5c3d-8e4f-a1b2c3d4e5f6',
  outcome: 'accepted',
  outcomeTimestamp: '2026-12-05T08:30:00.000Z',
  serviceId: 'nqo1-risk',
  origin: { modelId: 'br-ro', modelVersion: '1.0.0', cardStatus: 'done-high', studyInstanceUid: '1.2.3' },
};

const OVERRIDDEN: FeedbackRecord = {
  ...ACCEPTED,
  outcome: 'overridden',
  overrideReason: { system: 'urn:example:reason', code: 'wrong-lesion', display: 'Wrong lesion' },
  userComment: 'See the MDT note',
};

let db: Database.Database | undefined;

afterEach(() => {
  db?.close();
  db = undefined;
});

function openFeedbackStore(): { store: SqliteFeedbackStore; db: Database.Database } {
  db = new Database(':memory:');
  return { store: new SqliteFeedbackStore(db, () => RECEIVED_AT), db };
}

describe('SqliteFeedbackStore', () => {
  test('stores every field of an entry', async () => {
    const { store, db: database } = openFeedbackStore();

    expect(await store.insert([OVERRIDDEN])).toBe(1);
    expect(database.prepare('SELECT * FROM card_feedback').all()).toEqual([
      {
        card_uuid: OVERRIDDEN.cardUuid,
        outcome: 'overridden',
        outcome_timestamp: '2026-12-05T08:30:00.000Z',
        service_id: 'nqo1-risk',
        model_id: 'br-ro',
        model_version: '1.0.0',
        card_status: 'done-high',
        study_instance_uid: '1.2.3',
        accepted_suggestions_json: null,
        override_reason_system: 'urn:example:reason',
        override_reason_code: 'wrong-lesion',
        override_reason_display: 'Wrong lesion',
        user_comment: 'See the MDT note',
        received_at: '2026-12-05T09:00:00.000Z',
      },
    ]);
  });

  test('inserts a repeated entry once', async () => {
    const { store } = openFeedbackStore();

    expect(await store.insert([ACCEPTED, ACCEPTED])).toBe(1);
    expect(await store.insert([ACCEPTED])).toBe(0);
    expect(await store.insert([{ ...ACCEPTED, outcomeTimestamp: '2026-12-05T08:31:00.000Z' }])).toBe(1);
    expect(await store.countByModel()).toMatchObject([{ accepted: 2, overridden: 0 }]);
  });

  test('counts outcomes per model version', async () => {
    const { store } = openFeedbackStore();
    const unlinked: FeedbackRecord = {
      ...ACCEPTED,
      cardUuid: '00000000-0000-5000-8000-000000000001',
      origin: { modelId: 'br-ro', modelVersion: '1.0.0' },
    };
    const siteVersion: FeedbackRecord = {
      ...OVERRIDDEN,
      cardUuid: '00000000-0000-5000-8000-000000000002',
      origin: { ...ACCEPTED.origin, modelVersion: '1.0.0-site' },
    };

    await store.insert([ACCEPTED, OVERRIDDEN, unlinked, siteVersion]);

    expect(await store.countByModel()).toEqual([
      {
        modelId: 'br-ro',
        modelVersion: '1.0.0',
        accepted: 2,
        overridden: 1,
        unlinked: 1,
        overrideReasons: [{ system: 'urn:example:reason', code: 'wrong-lesion', count: 1 }],
      },
      {
        modelId: 'br-ro',
        modelVersion: '1.0.0-site',
        accepted: 0,
        overridden: 1,
        unlinked: 0,
        overrideReasons: [{ system: 'urn:example:reason', code: 'wrong-lesion', count: 1 }],
      },
    ]);
  });

  test('lists the most frequent reasons first', async () => {
    const { store } = openFeedbackStore();
    const records = Array.from({ length: MAX_REASONS_PER_MODEL + 5 }, (_, index) => ({
      ...OVERRIDDEN,
      outcomeTimestamp: new Date(Date.UTC(2026, 11, 5, 8, index)).toISOString(),
      overrideReason: { code: `reason-${String(index).padStart(2, '0')}` },
    }));
    const repeated = {
      ...OVERRIDDEN,
      outcomeTimestamp: '2026-12-06T00:00:00.000Z',
      overrideReason: { code: 'reason-24' },
    };

    await store.insert([...records, repeated]);
    const [counts] = await store.countByModel();

    expect(counts?.overridden).toBe(MAX_REASONS_PER_MODEL + 6);
    expect(counts?.overrideReasons).toHaveLength(MAX_REASONS_PER_MODEL);
    expect(counts?.overrideReasons[0]).toEqual({ system: null, code: 'reason-24', count: 2 });
    expect(counts?.overrideReasons[1]).toEqual({ system: null, code: 'reason-00', count: 1 });
  });

  test('keeps the first origin of a card uuid', async () => {
    const { store } = openFeedbackStore();
    const origin = { modelId: 'br-ro', cardStatus: 'done-low', studyInstanceUid: '1.2.4' };

    expect(await store.lastIndexedAnalysisRowid()).toBe(0);
    await store.indexCardUuids([
      { cardUuid: ACCEPTED.cardUuid, analysisRowid: 2, origin: { ...origin, modelVersion: '1.0.0' } },
      { cardUuid: ACCEPTED.cardUuid, analysisRowid: 1, origin: { ...origin, modelVersion: '0.9.0' } },
    ]);

    expect(await store.lastIndexedAnalysisRowid()).toBe(2);
    expect(await store.findCardOrigin(ACCEPTED.cardUuid)).toEqual({
      modelId: 'br-ro',
      modelVersion: '1.0.0',
      cardStatus: 'done-low',
      studyInstanceUid: '1.2.4',
    });
    expect(await store.findCardOrigin('00000000-0000-5000-8000-000000000009')).toBeUndefined();
  });

  test('adds its tables to an existing result database', async () => {
    const sqlitePath = path.join(mkdtempSync(path.join(tmpdir(), 'nqo1-feedback-')), 'results.sqlite');
    const first = new SqliteResultStore(sqlitePath);
    await first.insertPending({
      studyInstanceUid: '1.2.3',
      imagingStudyId: 'study-1',
      patientId: 'pat-1',
      modelId: 'br-ro',
      modelVersion: '1.0.0',
    });
    await first.close();
    // A database written before the feedback table existed.
    const legacy = new Database(sqlitePath);
    legacy.exec('DROP TABLE card_feedback; DROP TABLE card_uuids');
    legacy.close();

    const reopened = new SqliteResultStore(sqlitePath);
    try {
      expect(await reopened.feedback.insert([ACCEPTED])).toBe(1);
      expect((await reopened.countByStatus()).pending).toBe(1);
      expect(await reopened.keysAfter(0)).toEqual([
        { rowid: 1, studyInstanceUid: '1.2.3', modelId: 'br-ro', modelVersion: '1.0.0' },
      ]);
    } finally {
      await reopened.close();
    }
  });
});
