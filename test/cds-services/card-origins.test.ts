import { describe, expect, test } from 'vitest';

import { CARD_STATUSES, CardOriginIndex } from '../../cds-services/nqo1-risk/card-origins.js';
import {
  buildFailureCard,
  buildInProgressCard,
  buildOlderStudyResultCard,
  buildPatientConflictCard,
  buildResultCard,
  type CardContext,
} from '../../cds-services/nqo1-risk/cards.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { BR_RO_CARD_PATH, loadModelCard } from '../../src/model/card.js';
import { calibratedResult, uncalibratedResult } from '../support/score-result.js';

const JOB: AnalysisJob = {
  studyInstanceUid: '1.2.826.0.1.7',
  imagingStudyId: 'study-7',
  patientId: 'pat-7',
  modelId: 'br-ro',
  modelVersion: '1.0.0-site',
};

/** One error code per failure kind of the cards, and one code no kind lists. */
const FAILURE_CODES = [
  'ERR_DICOMWEB_FAILED',
  'ERR_FHIR_FAILED',
  'ERR_MASK_EMPTY',
  'ERR_SERIES_MIXED',
  'ERR_MODEL_FEATURE_MISSING',
  'ERR_INTERNAL',
] as const;

describe('CardOriginIndex', () => {
  test('finds every card the service builds', async () => {
    const store = new SqliteResultStore(':memory:');
    try {
      await store.insertPending({ ...JOB, studyInstanceUid: '1.2.826.0.1.6' });
      await store.insertPending(JOB);
      const modelCard = { ...(await loadModelCard(BR_RO_CARD_PATH)), version: JOB.modelVersion };
      const context: CardContext = {
        studyInstanceUid: JOB.studyInstanceUid,
        modelCard,
        locale: 'zh-CN',
        smartAppUrl: 'http://127.0.0.1:8080/smart-app/launch.html',
      };
      const cards = [
        buildInProgressCard(context),
        buildResultCard(context, calibratedResult({ probability: 0.81 }), 'a1'),
        buildResultCard(context, calibratedResult({ probability: 0.2 }), 'a1'),
        buildResultCard(context, uncalibratedResult(), 'a1'),
        buildOlderStudyResultCard(context, calibratedResult({ probability: 0.81 }), 'a1', {}),
        buildOlderStudyResultCard(context, calibratedResult({ probability: 0.2 }), 'a1', {}),
        buildOlderStudyResultCard(context, uncalibratedResult(), 'a1', {}),
        buildPatientConflictCard(context),
        ...FAILURE_CODES.map((code) => buildFailureCard(context, code)),
      ];
      const index = new CardOriginIndex(store);

      // One lookup at a time, as hooks arrive. The first one indexes the stored analyses.
      const origins = [];
      for (const card of cards) origins.push(await index.find(card.uuid ?? ''));

      expect(new Set(cards.map((card) => card.uuid)).size).toBe(CARD_STATUSES.length);
      expect(origins.map((origin) => origin?.cardStatus)).toEqual([
        'in-progress',
        'done-high',
        'done-low',
        'done-features',
        'older-done-high',
        'older-done-low',
        'older-done-features',
        'patient-conflict',
        'failed-images-unavailable',
        'failed-write-back',
        'failed-segmentation',
        'failed-series',
        'failed-model',
        'failed-unavailable',
      ]);
      for (const origin of origins) {
        expect(origin).toMatchObject({
          modelId: 'br-ro',
          modelVersion: '1.0.0-site',
          studyInstanceUid: JOB.studyInstanceUid,
        });
      }
    } finally {
      await store.close();
    }
  });

  test('reads analyses stored after the first lookup', async () => {
    const store = new SqliteResultStore(':memory:');
    try {
      const modelCard = await loadModelCard(BR_RO_CARD_PATH);
      const index = new CardOriginIndex(store);
      const context: CardContext = {
        studyInstanceUid: JOB.studyInstanceUid,
        modelCard,
        locale: 'en',
        smartAppUrl: 'http://127.0.0.1:8080/smart-app/launch.html',
      };
      const uuid = buildInProgressCard(context).uuid ?? '';

      expect(await index.find(uuid)).toBeUndefined();
      await store.insertPending({ ...JOB, modelVersion: modelCard.version });
      expect(await index.find(uuid)).toEqual({
        modelId: 'br-ro',
        modelVersion: modelCard.version,
        cardStatus: 'in-progress',
        studyInstanceUid: JOB.studyInstanceUid,
      });
    } finally {
      await store.close();
    }
  });

  test('indexes every analysis again when the card statuses changed', async () => {
    const store = new SqliteResultStore(':memory:');
    try {
      const modelCard = await loadModelCard(BR_RO_CARD_PATH);
      const job = { ...JOB, modelVersion: modelCard.version };
      await store.insertPending(job);
      const context: CardContext = {
        studyInstanceUid: JOB.studyInstanceUid,
        modelCard,
        locale: 'en',
        smartAppUrl: 'http://127.0.0.1:8080/smart-app/launch.html',
      };
      // An index built by a release whose only status was `in-progress`.
      await store.feedback.resetCardUuidsUnlessIndexed(['in-progress']);
      await store.feedback.indexCardUuids([
        {
          cardUuid: buildInProgressCard(context).uuid ?? '',
          analysisRowid: (await store.keysAfter(0))[0]!.rowid,
          origin: {
            modelId: 'br-ro',
            modelVersion: modelCard.version,
            cardStatus: 'in-progress',
            studyInstanceUid: JOB.studyInstanceUid,
          },
        },
      ]);
      const older = buildOlderStudyResultCard(context, calibratedResult({ probability: 0.2 }), 'a1', {});

      expect((await new CardOriginIndex(store).find(older.uuid ?? ''))?.cardStatus).toBe('older-done-low');
      expect(
        (await new CardOriginIndex(store).find(buildInProgressCard(context).uuid ?? ''))?.cardStatus,
      ).toBe('in-progress');
    } finally {
      await store.close();
    }
  });
});
