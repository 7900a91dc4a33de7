/**
 * `GET /api/model-card`: the public part of the model card, compared with the shipped card file read
 * as raw JSON, and the view of a site-calibrated card.
 */
import { readFileSync } from 'node:fs';

import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import { BR_RO_CARD_PATH, parseModelCard, type ModelCard } from '../../src/model/card.js';
import { modelCardView } from '../../src/server/model-card-view.js';
import { createHarness, type Harness } from '../support/cds-fixtures.js';

/** The shipped card as the file has it, without the schema's defaults or parsing. */
const CARD_FILE = JSON.parse(readFileSync(BR_RO_CARD_PATH, 'utf8')) as Record<string, unknown> & {
  features: { name: string; region: string; pyradiomicsName: string; coefficient: number | null }[];
};

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Builds the shipped card with invented coefficients and site scaling; the numbers are not the model's. */
function calibratedCard(): ModelCard {
  const parameters: Record<string, { mean: number; sd: number }> = {};
  const distribution: Record<string, Record<string, number>> = {};
  for (let i = 0; i < CARD_FILE.features.length; i++) {
    const name = CARD_FILE.features[i]!.name;
    parameters[name] = { mean: i + 0.5, sd: i + 1.25 };
    distribution[name] = {
      count: 40,
      mean: i + 0.5,
      sd: i + 1.25,
      min: 0,
      p05: 0.1,
      p25: 0.2,
      median: 0.3,
      p75: 0.4,
      p95: 0.5,
      max: 9,
    };
  }
  return parseModelCard(
    {
      ...CARD_FILE,
      version: '1.0.0+site.20261201',
      features: CARD_FILE.features.map((feature, index) => ({ ...feature, coefficient: index - 2.5 })),
      coefficientSource: {
        kind: 'site-fit',
        caseCount: 40,
        positiveCount: 17,
        createdAt: '2026-12-01T09:00:00.000Z',
      },
      scaling: {
        method: 'z-score',
        sd: 'sample',
        parameters,
        cohort: {
          description: 'Arterial-phase CT of 40 resected HCC cases, 2019-2024',
          caseCount: 40,
          createdAt: '2026-12-01T09:00:00.000Z',
          synthetic: false,
        },
        distribution,
      },
      recalibration: {
        intercept: 0.12,
        slope: 0.91,
        caseCount: 40,
        positiveCount: 17,
        createdAt: '2026-12-01T09:00:00.000Z',
      },
      notes: ['maintainer note that is not sent'],
    },
    'calibrated test card',
  );
}

describe('GET /api/model-card', () => {
  test('returns the shipped card without a token', async () => {
    harness = await createHarness();

    const response = await request(harness.app).get('/api/model-card');

    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.body as Record<string, unknown>;
    expect(body.id).toBe('br-ro');
    expect(body.version).toBe('1.0.0');
    expect(body.title).toEqual(CARD_FILE.title);
    expect(body.positiveClass).toEqual(CARD_FILE.positiveClass);
    expect(body.citation).toEqual(CARD_FILE.citation);
    expect(body.intendedUse).toEqual(CARD_FILE.intendedUse);
    expect(body.limitations).toEqual(CARD_FILE.limitations);
    expect(body.threshold).toBe(0.404);
    expect(body.intercept).toBe(-0.1927);
    expect(body.region).toEqual({ dilationMm: 3, periMode: 'dilated' });
    expect(body.performance).toEqual(CARD_FILE.performance);
    expect(body.evidence).toEqual(CARD_FILE.evidence);
    expect(body.coefficientSource).toEqual({ kind: 'published' });
    expect(body.features).toEqual(
      CARD_FILE.features.map((feature) => ({
        name: feature.name,
        region: feature.region,
        pyradiomicsName: feature.pyradiomicsName,
        coefficient: null,
      })),
    );
    expect(body.calibration).toEqual({ calibrated: false, coefficientsAvailable: false, scaling: null });
    expect(body).not.toHaveProperty('notes');
    expect(body).not.toHaveProperty('extraction');
  });

  test('carries the published AUC and hazard ratio with their CIs', async () => {
    harness = await createHarness();

    const body = (await request(harness.app).get('/api/model-card')).body as ReturnType<typeof modelCardView>;

    expect(body.performance.auc).toEqual({
      value: 0.9079,
      ci: { lower: 0.8127, upper: 1, level: 0.95 },
      cohort: 'TCGA-LIHC patients with arterial-phase CT in TCIA (development cohort)',
    });
    expect(body.performance.externalAuc?.value).toBe(0.8791);
    expect(body.performance.externalAuc?.ci).toEqual({ lower: 0.6979, upper: 1, level: 0.95 });
    const hazardRatios = body.evidence.filter((entry) => entry.kind === 'hazard-ratio');
    expect(hazardRatios.map((entry) => entry.estimate?.value)).toEqual([1.761, 1.643]);
    expect(hazardRatios[0]?.estimate?.ci).toEqual({ lower: 1.136, upper: 2.73, level: 0.95 });
    expect(hazardRatios[0]?.description['zh-CN']).toBe(
      'NQO1 高表达是总生存期较差的独立危险因素（多因素 Cox 回归）。',
    );
  });
});

describe('modelCardView', () => {
  test('shows the site scaling and its cohort', () => {
    const card = calibratedCard();

    const view = modelCardView(card);

    expect(view.version).toBe('1.0.0+site.20261201');
    expect(view.calibration).toEqual({
      calibrated: true,
      coefficientsAvailable: true,
      scaling: {
        method: 'z-score',
        sd: 'sample',
        cohort: {
          description: 'Arterial-phase CT of 40 resected HCC cases, 2019-2024',
          caseCount: 40,
          createdAt: '2026-12-01T09:00:00.000Z',
          synthetic: false,
        },
      },
      recalibration: {
        intercept: 0.12,
        slope: 0.91,
        caseCount: 40,
        positiveCount: 17,
        createdAt: '2026-12-01T09:00:00.000Z',
      },
    });
    expect(view.coefficientSource).toEqual({
      kind: 'site-fit',
      caseCount: 40,
      positiveCount: 17,
      createdAt: '2026-12-01T09:00:00.000Z',
    });
    expect(view.features[0]).toEqual({
      name: 'Whole_glszm_SmallAreaEmphasis',
      region: 'tumour',
      pyradiomicsName: 'original_glszm_SmallAreaEmphasis',
      coefficient: -2.5,
      scaling: { mean: 0.5, sd: 1.25 },
    });
    expect(view.features[5]?.scaling).toEqual({ mean: 5.5, sd: 6.25 });
    expect(JSON.stringify(view)).not.toContain('distribution');
    expect(JSON.stringify(view)).not.toContain('maintainer note');
  });
});
