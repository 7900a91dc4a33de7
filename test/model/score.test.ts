import { describe, expect, it } from 'vitest';

import { computeZScoreScaling, MIN_CALIBRATION_CASES, withSiteScaling } from '../../src/model/calibrate.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import { logistic, scoreFeatures } from '../../src/model/score.js';

const FEATURES = {
  Whole_glszm_SmallAreaEmphasis: 0.6,
  Whole_ngtdm_Coarseness: 0.002,
  Whole_peri_glrlm_RunLengthNonUniformity: 900,
  Whole_peri_ngtdm_Coarseness: 0.001,
  Whole_peri_firstorder_TotalEnergy: 5e8,
  Whole_peri_glszm_SmallAreaLowGrayLevelEmphasis: 0.05,
};

/**
 * Builds a test card with coefficients chosen for easy arithmetic. They are NOT the published
 * values and only check the logistic arithmetic.
 */
async function cardWithTestCoefficients(): Promise<ModelCard> {
  const card = await loadModelCard(BR_RO_CARD_PATH);
  const coefficients = [1, -1, 0.5, 0, 2, -0.5];
  const parameters: Record<string, { mean: number; sd: number }> = {};
  for (const feature of card.features) {
    const value = FEATURES[feature.name as keyof typeof FEATURES];
    // Mean one SD below the value, so every z-score is exactly 1.
    parameters[feature.name] = { mean: value - value / 4, sd: value / 4 };
  }
  return {
    ...card,
    features: card.features.map((feature, index) => ({ ...feature, coefficient: coefficients[index]! })),
    scaling: {
      method: 'z-score',
      sd: 'sample',
      parameters,
      cohort: { description: 'test', caseCount: 10, createdAt: '2026-12-04T10:00:00.000Z', synthetic: true },
    },
  };
}

describe('logistic', () => {
  it('matches 1/(1+e^-x) and stays finite far out', () => {
    expect(logistic(0)).toBe(0.5);
    expect(logistic(2)).toBeCloseTo(1 / (1 + Math.exp(-2)), 15);
    expect(logistic(-800)).toBeGreaterThanOrEqual(0);
    expect(logistic(800)).toBe(1);
  });
});

describe('scoreFeatures', () => {
  it('gives no probability on the published card', async () => {
    const card = await loadModelCard(BR_RO_CARD_PATH);
    const score = scoreFeatures(card, FEATURES);
    expect(score).toEqual({
      calibrated: false,
      probability: null,
      probabilityUnavailableReason: 'uncalibrated',
      class: null,
      linearPredictor: null,
      scaledFeatures: null,
      contributions: null,
    });
  });

  it('needs coefficients after calibration', async () => {
    const card = await loadModelCard(BR_RO_CARD_PATH);
    const rows = Array.from({ length: MIN_CALIBRATION_CASES }, (_, index) =>
      Object.fromEntries(Object.entries(FEATURES).map(([name, value]) => [name, value * (1 + index / 10)])),
    );
    const scaling = computeZScoreScaling(card, rows, {
      description: 't',
      synthetic: true,
      createdAt: new Date().toISOString(),
    });
    const score = scoreFeatures(withSiteScaling(card, scaling, 'site.test'), FEATURES);
    expect(score.calibrated).toBe(true);
    expect(score.probability).toBeNull();
    expect(score.probabilityUnavailableReason).toBe('coefficients-missing');
    expect(score.contributions).toBeNull();
    // Scaled values need only the scaling, so they are there without coefficients.
    for (const feature of card.features) {
      const { mean, sd } = scaling.parameters[feature.name]!;
      expect(score.scaledFeatures?.[feature.name]).toBe(
        (FEATURES[feature.name as keyof typeof FEATURES] - mean) / sd,
      );
    }
  });

  it('scales each feature by its own mean and SD', async () => {
    const card = await cardWithTestCoefficients();
    // z = (x − μ) / σ, chosen so that every feature has another z: 2.5, −1, 0, 4, −2.5, 0.5.
    const parameters: Record<string, { mean: number; sd: number }> = {
      Whole_glszm_SmallAreaEmphasis: { mean: 0.5, sd: 0.04 },
      Whole_ngtdm_Coarseness: { mean: 0.003, sd: 0.001 },
      Whole_peri_glrlm_RunLengthNonUniformity: { mean: 900, sd: 120 },
      Whole_peri_ngtdm_Coarseness: { mean: 0.0006, sd: 0.0001 },
      Whole_peri_firstorder_TotalEnergy: { mean: 1e9, sd: 2e8 },
      Whole_peri_glszm_SmallAreaLowGrayLevelEmphasis: { mean: 0.04, sd: 0.02 },
    };
    const scaled = { ...card, scaling: { ...card.scaling!, parameters } };

    const score = scoreFeatures(scaled, FEATURES);

    const expectedZ = [2.5, -1, 0, 4, -2.5, 0.5];
    const coefficients = [1, -1, 0.5, 0, 2, -0.5];
    card.features.forEach((feature, index) => {
      expect(score.scaledFeatures?.[feature.name]).toBeCloseTo(expectedZ[index]!, 12);
      expect(score.contributions?.[feature.name]).toBeCloseTo(coefficients[index]! * expectedZ[index]!, 12);
    });
    // η = −0.1927 + 2.5 + 1 + 0 + 0 − 5 − 0.25 = −1.9427.
    expect(score.linearPredictor).toBeCloseTo(-1.9427, 12);
    expect(score.class).toBe('low');
  });

  it('computes probability, class and contributions', async () => {
    const card = await cardWithTestCoefficients();
    const score = scoreFeatures(card, FEATURES);
    // Every z is 1, so η = −0.1927 + (1 − 1 + 0.5 + 0 + 2 − 0.5) = 1.8073.
    expect(score.linearPredictor).toBeCloseTo(1.8073, 12);
    expect(score.probability).toBeCloseTo(1 / (1 + Math.exp(-1.8073)), 12);
    expect(score.class).toBe('high');
    const expected = [1, -1, 0.5, 0, 2, -0.5];
    card.features.forEach((feature, index) => {
      expect(score.contributions?.[feature.name]).toBeCloseTo(expected[index]!, 12);
    });
  });

  it('puts the threshold itself in the high class', async () => {
    const card = await cardWithTestCoefficients();
    // Choose the intercept so that p equals the threshold: η = logit(0.404) − 2.
    const atThreshold = { ...card, intercept: Math.log(0.404 / 0.596) - 2 };
    const score = scoreFeatures(atThreshold, FEATURES);
    expect(score.probability).toBeCloseTo(0.404, 12);
    const below = scoreFeatures({ ...atThreshold, intercept: atThreshold.intercept - 1e-6 }, FEATURES);
    expect(below.class).toBe('low');
  });

  it('rejects a missing or non-finite feature', async () => {
    const card = await loadModelCard(BR_RO_CARD_PATH);
    const { Whole_ngtdm_Coarseness: _dropped, ...missing } = FEATURES;
    expect(() => scoreFeatures(card, missing)).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_FEATURE_MISSING' }),
    );
    expect(() => scoreFeatures(card, { ...FEATURES, Whole_ngtdm_Coarseness: Number.NaN })).toThrow(/NaN/);
  });
});

describe('computeZScoreScaling', () => {
  it('uses the mean and the sample SD', async () => {
    const card = await loadModelCard(BR_RO_CARD_PATH);
    // Values 1..10: mean 5.5, sample variance Σ(x−5.5)²/9 = 82.5/9.
    const rows = Array.from({ length: 10 }, (_, index) =>
      Object.fromEntries(card.features.map((feature) => [feature.name, index + 1])),
    );
    const scaling = computeZScoreScaling(card, rows, {
      description: 'd',
      synthetic: false,
      createdAt: '2026-12-04T10:00:00Z',
    });
    expect(scaling.sd).toBe('sample');
    expect(scaling.cohort.caseCount).toBe(10);
    expect(scaling.parameters.Whole_ngtdm_Coarseness!.mean).toBe(5.5);
    expect(scaling.parameters.Whole_ngtdm_Coarseness!.sd).toBeCloseTo(Math.sqrt(82.5 / 9), 14);
  });

  it('rejects too few cases and zero spread', async () => {
    const card = await loadModelCard(BR_RO_CARD_PATH);
    const row = Object.fromEntries(card.features.map((feature) => [feature.name, 1]));
    const cohort = { description: 'd', synthetic: false, createdAt: '2026-12-04T10:00:00Z' };
    expect(() => computeZScoreScaling(card, [row, row], cohort)).toThrow(/at least 10 cases, got 2/);
    expect(() =>
      computeZScoreScaling(
        card,
        Array.from({ length: 10 }, () => row),
        cohort,
      ),
    ).toThrow(/same value \(1\) in every case/);
  });
});
