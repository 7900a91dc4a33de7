import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { BR_RO_CARD_PATH, loadModelCard, parseModelCard } from '../../src/model/card.js';

async function shippedCardJson(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(BR_RO_CARD_PATH, 'utf8')) as Record<string, unknown>;
}

describe('BR-RO model card', () => {
  it('loads the shipped card', async () => {
    const card = await loadModelCard(BR_RO_CARD_PATH);
    expect(card.id).toBe('br-ro');
    expect(card.intercept).toBe(-0.1927);
    expect(card.threshold).toBe(0.404);
    expect(card.scaling).toBeNull();
    expect(card.region).toEqual({ dilationMm: 3, periMode: 'dilated' });
  });

  it('lists the six features of the paper', async () => {
    const card = await loadModelCard(BR_RO_CARD_PATH);
    expect(card.features.map((feature) => [feature.name, feature.region, feature.pyradiomicsName])).toEqual([
      ['Whole_glszm_SmallAreaEmphasis', 'tumour', 'original_glszm_SmallAreaEmphasis'],
      ['Whole_ngtdm_Coarseness', 'tumour', 'original_ngtdm_Coarseness'],
      ['Whole_peri_glrlm_RunLengthNonUniformity', 'peri', 'original_glrlm_RunLengthNonUniformity'],
      ['Whole_peri_ngtdm_Coarseness', 'peri', 'original_ngtdm_Coarseness'],
      ['Whole_peri_firstorder_TotalEnergy', 'peri', 'original_firstorder_TotalEnergy'],
      [
        'Whole_peri_glszm_SmallAreaLowGrayLevelEmphasis',
        'peri',
        'original_glszm_SmallAreaLowGrayLevelEmphasis',
      ],
    ]);
  });

  it('carries the published performance figures', async () => {
    const card = await loadModelCard(BR_RO_CARD_PATH);
    expect(card.performance.auc).toMatchObject({ value: 0.9079, ci: { lower: 0.8127, upper: 1 } });
    expect(card.performance.externalAuc).toMatchObject({ value: 0.8791, ci: { lower: 0.6979, upper: 1 } });
    expect([
      card.performance.accuracy?.value,
      card.performance.sensitivity?.value,
      card.performance.specificity?.value,
    ]).toEqual([0.86, 0.88, 0.84]);
    const hazardRatios = card.evidence
      .filter((item) => item.kind === 'hazard-ratio')
      .map((item) => item.estimate);
    expect(hazardRatios).toContainEqual(
      expect.objectContaining({
        value: 1.761,
        ci: { lower: 1.136, upper: 2.73, level: 0.95 },
        pValue: 0.011,
      }),
    );
    expect(hazardRatios).toContainEqual(
      expect.objectContaining({
        value: 1.643,
        ci: { lower: 1.088, upper: 2.481, level: 0.95 },
        pValue: 0.018,
      }),
    );
    const byKind = (kind: string) => card.evidence.find((item) => item.kind === kind);
    expect(byKind('log-rank')?.estimate?.pValue).toBe(0.017);
    expect(byKind('median-survival-days')?.medianDays).toEqual({ positive: 2456, negative: 2532 });
    expect(byKind('association')?.description.en).toMatch(/vascular invasion/);
    expect(card.coefficientSource).toEqual({ kind: 'published' });
  });

  it('has text in English and Simplified Chinese', async () => {
    const card = await loadModelCard(BR_RO_CARD_PATH);
    for (const text of [card.title, card.positiveClass, card.intendedUse, ...card.limitations]) {
      expect(text.en.length).toBeGreaterThan(0);
      expect(text['zh-CN']).toMatch(/[\u4e00-\u9fff]/);
    }
  });
});

describe('parseModelCard', () => {
  it('names a field of the wrong type', async () => {
    const json = await shippedCardJson();
    const features = json.features as Record<string, unknown>[];
    features[2] = { ...features[2], coefficient: 'large' };
    expect(() => parseModelCard(json, 'edited.json')).toThrow(
      /edited\.json is invalid: features\[2\]\.coefficient: /,
    );
  });

  it('rejects a misspelled key', async () => {
    const json = { ...(await shippedCardJson()), treshold: 0.5 };
    expect(() => parseModelCard(json, 'typo.json')).toThrow(/treshold/);
  });

  it('rejects a scaling without every feature', async () => {
    const json = {
      ...(await shippedCardJson()),
      scaling: {
        method: 'z-score',
        sd: 'sample',
        parameters: { Whole_glszm_SmallAreaEmphasis: { mean: 0.5, sd: 0.1 } },
        cohort: { description: 'test', caseCount: 12, createdAt: '2026-12-04T10:00:00Z', synthetic: true },
      },
    };
    expect(() => parseModelCard(json, 'partial.json')).toThrow(
      /scaling\.parameters has no entry for feature Whole_ngtdm_Coarseness/,
    );
  });

  it('reports a missing file with its path', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nqo1-card-'));
    await expect(loadModelCard(join(folder, 'absent.json'))).rejects.toMatchObject({
      code: 'ERR_MODEL_CARD_INVALID',
    });
    await writeFile(join(folder, 'broken.json'), '{ "id": ');
    await expect(loadModelCard(join(folder, 'broken.json'))).rejects.toThrow(/not valid JSON/);
  });
});
