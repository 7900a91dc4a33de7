import { describe, expect, test } from 'vitest';

import {
  buildFailureCard,
  buildInProgressCard,
  buildPatientConflictCard,
  buildResultCard,
  formatFeatureValue,
  OVERRIDE_REASON_SYSTEM,
} from '../../cds-services/nqo1-risk/cards.js';
import { BR_RO_CARD_PATH, loadModelCard } from '../../src/model/card.js';
import type { ScoreResult } from '../../src/model/result.js';
import { calibratedResult } from '../support/score-result.js';

describe('formatFeatureValue', () => {
  test.each([
    [307_000_000, '3.07 × 10⁸'],
    [3.2e9, '3.2 × 10⁹'],
    [-123_456, '-1.235 × 10⁵'],
    [100_000, '1 × 10⁵'],
    [99_999, '99999'],
    [1520.5, '1521'],
    [0.61, '0.61'],
    [0.0042, '0.0042'],
    [0.001, '0.001'],
    [0.00011, '1.1 × 10⁻⁴'],
    [0, '0'],
  ])('formats %d as %s', (value, expected) => {
    expect(formatFeatureValue(value)).toBe(expected);
  });
});

/** Classifies a probability against the BR-RO threshold 0.404, or `null` without a probability. */
function classOf(probability: number | null): ScoreResult['class'] {
  if (probability === null) return null;
  return probability >= 0.404 ? 'high' : 'low';
}

const result = (probability: number | null): ScoreResult =>
  calibratedResult({
    probability,
    probabilityUnavailableReason: probability === null ? 'uncalibrated' : null,
    class: classOf(probability),
  });

describe('buildResultCard prognosis line', () => {
  test('a high result cites the hazard ratio the model card carries, in each language', async () => {
    const modelCard = await loadModelCard(BR_RO_CARD_PATH);
    const context = { studyInstanceUid: '1.2.3', modelCard, smartAppUrl: 'http://127.0.0.1:8080/app' };
    const english = buildResultCard({ ...context, locale: 'en' }, result(0.7), 'a1');
    expect(english.detail).toContain('HR 1.761, 95% CI 1.136–2.73, p = 0.011; TCGA-LIHC, 286 patients)');
    expect(english.detail).toContain('independent risk factor for worse overall survival');
    const chinese = buildResultCard({ ...context, locale: 'zh-CN' }, result(0.7), 'a1');
    expect(chinese.detail).toContain('NQO1 高表达是总生存期较差的独立危险因素');
    expect(chinese.detail).toContain('HR 1.761, 95% CI 1.136–2.73, p = 0.011；TCGA-LIHC, 286 patients）');
    const low = buildResultCard({ ...context, locale: 'en' }, result(0.2), 'a1');
    expect(low.detail).not.toContain('HR 1.761');
  });

  test('a card without hazard-ratio evidence keeps the general line', async () => {
    const modelCard = { ...(await loadModelCard(BR_RO_CARD_PATH)), evidence: [] };
    const card = buildResultCard(
      { studyInstanceUid: '1.2.3', modelCard, smartAppUrl: 'http://127.0.0.1:8080/app', locale: 'en' },
      result(0.7),
      'a1',
    );
    expect(card.detail).toContain('High NQO1 expression is an independent risk factor');
    expect(card.detail).not.toContain('HR ');
  });
});

describe('override reasons', () => {
  const context = async (locale: 'en' | 'zh-CN') => ({
    studyInstanceUid: '1.2.3',
    modelCard: await loadModelCard(BR_RO_CARD_PATH),
    smartAppUrl: 'http://127.0.0.1:8080/app',
    locale,
  });

  test('result card reasons in each locale', async () => {
    const english = buildResultCard(await context('en'), result(0.7), 'a1');
    const chinese = buildResultCard(await context('zh-CN'), result(0.7), 'a1');

    expect(english.overrideReasons).toEqual([
      {
        system: OVERRIDE_REASON_SYSTEM,
        code: 'segmentation-incorrect',
        display: 'Tumour segmentation is incorrect',
      },
      {
        system: OVERRIDE_REASON_SYSTEM,
        code: 'wrong-series-or-phase',
        display: 'Wrong CT series or contrast phase',
      },
      {
        system: OVERRIDE_REASON_SYSTEM,
        code: 'not-relevant-to-patient',
        display: 'Not relevant to this patient',
      },
      { system: OVERRIDE_REASON_SYSTEM, code: 'already-known', display: 'Already known' },
    ]);
    expect(chinese.overrideReasons?.map((reason) => reason.code)).toEqual(
      english.overrideReasons?.map((reason) => reason.code),
    );
    expect(chinese.overrideReasons?.map((reason) => reason.display)).toEqual([
      '肿瘤分割不正确',
      'CT 序列或增强期相选择错误',
      '与该患者无关',
      '已知悉',
    ]);
  });

  test('low and features-only cards have them', async () => {
    const low = buildResultCard(await context('en'), result(0.2), 'a1');
    const featuresOnly = buildResultCard(await context('en'), result(null), 'a1');

    expect(low.overrideReasons).toHaveLength(4);
    expect(featuresOnly.summary).toContain('needs site calibration');
    expect(featuresOnly.overrideReasons).toHaveLength(4);
  });

  test('status cards have none', async () => {
    const english = await context('en');

    expect(buildInProgressCard(english).overrideReasons).toBeUndefined();
    expect(buildFailureCard(english, 'ERR_SEGMENTATION_MISSING').overrideReasons).toBeUndefined();
    expect(buildFailureCard(english, 'ERR_INTERNAL').overrideReasons).toBeUndefined();
    expect(buildPatientConflictCard(english).overrideReasons).toBeUndefined();
  });
});

describe('buildResultCard series line', () => {
  const withSelection = (probability: number | null): ScoreResult => {
    const base = result(probability);
    const excluded = {
      seriesNumber: null,
      seriesDescription: '',
      instanceCount: 300,
      sliceThicknessMm: null,
      convolutionKernel: null,
      contrastAgentRecorded: null,
      acquisitionDelaySeconds: null,
      outcome: 'excluded' as const,
    };
    return {
      ...base,
      provenance: {
        ...base.provenance,
        seriesSelection: {
          reason: 'arterial-phase-description',
          seriesDescription: 'ART `1.25mm`',
          seriesNumber: 3,
          instanceCount: 120,
          ctSeriesCount: 4,
          arterialCount: 1,
          candidates: [
            { ...excluded, seriesInstanceUid: '1.1', rule: 'slice-thickness' },
            { ...excluded, seriesInstanceUid: '1.2', rule: 'convolution-kernel', pattern: 'bone' },
            { ...excluded, seriesInstanceUid: '1.3', rule: 'slice-thickness' },
          ],
        },
      },
    };
  };

  test('states the chosen series and the exclusions in each language', async () => {
    const modelCard = await loadModelCard(BR_RO_CARD_PATH);
    const context = { studyInstanceUid: '1.2.3', modelCard, smartAppUrl: 'http://127.0.0.1:8080/app' };

    const english = buildResultCard({ ...context, locale: 'en' }, withSelection(0.7), 'a1');
    const chinese = buildResultCard({ ...context, locale: 'zh-CN' }, withSelection(null), 'a1');

    expect(english.detail).toContain(
      'CT series analysed: 3 `ART 1.25mm`, 120 images, one of 4 CT series in the study. ' +
        'Reason: its description marks the arterial phase. ' +
        'Excluded by the series rules: 3 (slice thickness, reconstruction kernel).',
    );
    expect(chinese.detail).toContain(
      '分析的 CT 序列：3 `ART 1.25mm`，120 幅图像，为本检查 4 个 CT 序列之一。' +
        '原因：序列描述标明为动脉期。按序列规则排除 3 个（层厚、重建卷积核）。',
    );
  });

  test('leaves out exclusions when there are none', async () => {
    const modelCard = await loadModelCard(BR_RO_CARD_PATH);
    const context = { studyInstanceUid: '1.2.3', modelCard, smartAppUrl: 'http://127.0.0.1:8080/app' };
    const base = withSelection(0.2);
    const plain: ScoreResult = {
      ...base,
      provenance: {
        ...base.provenance,
        seriesSelection: {
          reason: 'acquisition-delay',
          seriesDescription: '',
          seriesNumber: null,
          instanceCount: null,
          ctSeriesCount: 1,
          arterialCount: 0,
        },
      },
    };

    const english = buildResultCard({ ...context, locale: 'en' }, plain, 'a1');

    expect(english.detail).toContain(
      'CT series analysed: unnamed, the only CT series in the study. ' +
        'Reason: it was acquired within the arterial window after contrast injection.\n\n',
    );
    expect(english.detail).not.toContain('Excluded by the series rules');
    expect(buildResultCard({ ...context, locale: 'zh-CN' }, plain, 'a1').detail).toContain(
      '分析的 CT 序列：未命名，为本检查唯一的 CT 序列。原因：采集时间处于注射对比剂后的动脉期时间窗内。\n\n',
    );
  });

  test('a result without a selection has no series line', async () => {
    const modelCard = await loadModelCard(BR_RO_CARD_PATH);
    const context = { studyInstanceUid: '1.2.3', modelCard, smartAppUrl: 'http://127.0.0.1:8080/app' };

    const card = buildResultCard({ ...context, locale: 'en' }, result(0.7), 'a1');

    expect(card.detail).not.toContain('CT series analysed');
  });
});
