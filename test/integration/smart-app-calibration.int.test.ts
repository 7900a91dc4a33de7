/**
 * Where the model was calibrated: with a card calibrated on a cohort, the app names the cohort, its
 * size and date under the probability, and warns when the cohort is generated demonstration data.
 * A result of another model version than the loaded card gets no cohort line, because that card's
 * calibration may not be the one the result used.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import { chromiumSkipReason } from '../support/chromium.js';
import { captureLogs } from '../support/log-capture.js';
import { calibratedResult } from '../support/score-result.js';
import { storeStudyAnalysis } from '../support/smart-app-fixtures.js';
import { screenshot, startSmartAppHarness, type SmartAppHarness } from '../support/smart-app-harness.js';

const skipReason = chromiumSkipReason('the SMART app calibration tests');

const STUDIES = { sameVersion: '2.25.9101', otherVersion: '2.25.9102' } as const;

/** Returns the published card with a site scaling on a generated cohort of 48 cases. */
async function calibratedCard(): Promise<ModelCard> {
  const card = await loadModelCard(BR_RO_CARD_PATH);
  return {
    ...card,
    version: `${card.version}-site`,
    scaling: {
      method: 'z-score',
      sd: 'sample',
      parameters: Object.fromEntries(card.features.map((feature) => [feature.name, { mean: 0, sd: 1 }])),
      cohort: {
        description: 'Demo cohort of generated phantoms',
        caseCount: 48,
        createdAt: '2026-11-20T08:00:00Z',
        synthetic: true,
      },
    },
  };
}

describe.skipIf(skipReason !== null)('SMART app calibration cohort', () => {
  const logs = captureLogs();
  let harness: SmartAppHarness | undefined;
  const analysisIds: Partial<Record<keyof typeof STUDIES, string>> = {};

  beforeAll(async () => {
    const modelCard = await calibratedCard();
    harness = await startSmartAppHarness({
      tempPrefix: 'nqo1-smart-calibration-',
      logger: logs.logger,
      modelCard,
      seed: async (seed) => {
        for (const key of Object.keys(STUDIES) as (keyof typeof STUDIES)[]) {
          const version = key === 'sameVersion' ? modelCard.version : '0.9.0-site';
          const stored = await storeStudyAnalysis(seed, {
            studyInstanceUid: STUDIES[key],
            patientId: seed.patientId,
            result: calibratedResult({ model: { id: modelCard.id, version } }),
          });
          analysisIds[key] = stored.analysisId;
        }
      },
    });
  });

  afterAll(async () => {
    await harness?.close();
  });

  test('names the calibration cohort and warns about demo data, in English and Chinese', async () => {
    const h = harness!;
    const english = await h.launchApp({
      patient: h.patientId,
      appContext: analysisIds.sameVersion!,
      locale: 'en',
    });
    try {
      expect(await english.page.locator('#calibration-cohort').textContent()).toBe(
        'Calibrated on 48 cases on Nov 20, 2026: Demo cohort of generated phantoms',
      );
      expect(await english.page.locator('#synthetic-cohort').textContent()).toContain('not for clinical use');
      await screenshot(english.page, 'calibration-cohort-en');
    } finally {
      await english.context.close();
    }

    const chinese = await h.launchApp({
      patient: h.patientId,
      appContext: analysisIds.sameVersion!,
      locale: 'zh-CN',
    });
    try {
      expect(await chinese.page.locator('#calibration-cohort').textContent()).toBe(
        '于 2026年11月20日 以 48 例病例校准：Demo cohort of generated phantoms',
      );
      expect(await chinese.page.locator('#synthetic-cohort').textContent()).toContain('不可用于临床');
    } finally {
      await chinese.context.close();
    }
  });

  test('a result of another model version gets no cohort line', async () => {
    const h = harness!;
    const app = await h.launchApp({
      patient: h.patientId,
      appContext: analysisIds.otherVersion!,
      locale: 'en',
    });
    try {
      expect(await app.page.getAttribute('main', 'data-screen')).toBe('result');
      expect(await app.page.locator('#calibration').count()).toBe(1);
      expect(await app.page.locator('#calibration-cohort').count()).toBe(0);
    } finally {
      await app.context.close();
    }
  });
});
