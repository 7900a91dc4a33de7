/**
 * The four evaluation charts in both locales: title and axis texts, legend texts with the
 * statistics, series and point counts, and pixel positions of known points. The plot area spans
 * x 72–616 and y 416–48 px, so on a unit axis a value v lands at x = 72 + 544·v, y = 416 − 368·v.
 */
import { describe, expect, it } from 'vitest';

import { calibrationChart } from '../../src/plots/calibration-chart.js';
import { type ChartLocale, chartText } from '../../src/plots/chart-text.js';
import { decisionCurveChart } from '../../src/plots/decision-curve-chart.js';
import { rocChart } from '../../src/plots/roc-chart.js';
import { survivalChart } from '../../src/plots/survival-chart.js';
import { type XmlElement, byClass, parseXml, pointsOf, textContent } from '../support/xml-tree.js';

function texts(root: XmlElement, className: string): string[] {
  return byClass(root, className).map(textContent);
}

const ROC_DATA = {
  points: [
    { specificity: 1, sensitivity: 0.3 },
    { specificity: 0.75, sensitivity: 0.8 },
    { specificity: 0.9, sensitivity: 0.55 },
    { specificity: 0.2, sensitivity: 0.97 },
  ],
  auc: 0.8124,
  ci: { lower: 0.7406, upper: 0.8831 },
};

describe('rocChart', () => {
  it.each<[ChartLocale, string, string, string, string, string]>([
    [
      'en',
      'ROC curve',
      '1 − specificity',
      'Sensitivity',
      'Model, AUC 0.812 (95% CI 0.741–0.883)',
      'Chance (AUC 0.5)',
    ],
    [
      'zh-CN',
      'ROC 曲线',
      '1 − 特异度',
      '灵敏度',
      '模型，AUC 0.812（95% CI 0.741–0.883）',
      '随机判断（AUC 0.5）',
    ],
  ])('%s texts', (locale, title, xTitle, yTitle, model, chance) => {
    const root = parseXml(rocChart(ROC_DATA, locale));
    expect(texts(root, 'chart-title')).toEqual([title]);
    expect(texts(root, 'x-axis-title')).toEqual([xTitle]);
    expect(texts(root, 'y-axis-title')).toEqual([yTitle]);
    expect(texts(root, 'legend-entry')).toEqual([model, chance]);
  });

  it('sorted curve with end points and the chance diagonal', () => {
    const root = parseXml(rocChart(ROC_DATA, 'en'));
    const lines = byClass(root, 'series-line');
    expect(lines).toHaveLength(1);
    const vertices = pointsOf(lines[0]!);
    // (0,0) (0,0.3) (0.1,0.55) (0.25,0.8) (0.8,0.97) (1,1)
    expect(vertices).toHaveLength(6);
    expect(vertices[0]).toEqual({ x: 72, y: 416 });
    expect(vertices[1]).toEqual({ x: 72, y: 305.6 });
    // 1 − 0.75 = 0.25 → 72 + 136 = 208; 0.8 → 416 − 294.4 = 121.6.
    expect(vertices[3]).toEqual({ x: 208, y: 121.6 });
    expect(vertices[5]).toEqual({ x: 616, y: 48 });
    const diagonal = byClass(root, 'reference-line')[0]!;
    expect(diagonal.attributes).toMatchObject({ x1: '72', y1: '416', x2: '616', y2: '48' });
  });

  it('does not repeat end points already given', () => {
    const root = parseXml(
      rocChart(
        {
          points: [
            { specificity: 1, sensitivity: 0 },
            { specificity: 0.5, sensitivity: 0.5 },
            { specificity: 0, sensitivity: 1 },
          ],
          auc: 0.5,
          ci: { lower: 0.4, upper: 0.6 },
        },
        'en',
      ),
    );
    expect(pointsOf(byClass(root, 'series-line')[0]!)).toHaveLength(3);
  });

  it('rejects a sensitivity above 1', () => {
    expect(() =>
      rocChart(
        { points: [{ specificity: 0.5, sensitivity: 1.2 }], auc: 0.5, ci: { lower: 0, upper: 1 } },
        'en',
      ),
    ).toThrow(/outside \[0, 1\]/);
  });
});

const CALIBRATION_DATA = {
  groups: [
    { meanPredicted: 0.8, observedRate: 0.75, count: 20 },
    { meanPredicted: 0.15, observedRate: 0.1, count: 20 },
    { meanPredicted: 0.5, observedRate: 0.25, count: 24 },
  ],
  hosmerLemeshow: { statistic: 5.4321, pValue: 0.6104 },
};

describe('calibrationChart', () => {
  it.each<[ChartLocale, string, string, string, string[], string]>([
    [
      'en',
      'Calibration',
      'Predicted probability',
      'Observed proportion',
      ['Model (3 groups, 64 cases)', 'Ideal calibration'],
      'Hosmer–Lemeshow χ² = 5.43, P = 0.610',
    ],
    [
      'zh-CN',
      '校准曲线',
      '预测概率',
      '实际观察比例',
      ['模型（3 组，共 64 例）', '理想校准'],
      'Hosmer–Lemeshow 检验 χ² = 5.43，P = 0.610',
    ],
  ])('%s texts', (locale, title, xTitle, yTitle, entries, note) => {
    const root = parseXml(calibrationChart(CALIBRATION_DATA, locale));
    expect(texts(root, 'chart-title')).toEqual([title]);
    expect(texts(root, 'x-axis-title')).toEqual([xTitle]);
    expect(texts(root, 'y-axis-title')).toEqual([yTitle]);
    expect(texts(root, 'legend-entry')).toEqual(entries);
    expect(texts(root, 'legend-note')).toEqual([note]);
  });

  it('one marker per group, joined by predicted probability', () => {
    const root = parseXml(calibrationChart(CALIBRATION_DATA, 'en'));
    const markers = byClass(root, 'series-marker');
    expect(markers).toHaveLength(3);
    const vertices = pointsOf(byClass(root, 'series-line')[0]!);
    // (0.15, 0.1) (0.5, 0.25) (0.8, 0.75)
    expect(vertices.map((vertex) => vertex.x)).toEqual([153.6, 344, 507.2]);
    expect(vertices[1]).toEqual({ x: 344, y: 324 });
    expect(markers[1]!.attributes).toMatchObject({ cx: '344', cy: '324' });
    expect(byClass(root, 'reference-line')).toHaveLength(1);
  });

  it('writes a tiny p-value as below 0.001', () => {
    const root = parseXml(
      calibrationChart({ ...CALIBRATION_DATA, hosmerLemeshow: { statistic: 31.2, pValue: 0.00012 } }, 'en'),
    );
    expect(texts(root, 'legend-note')).toEqual(['Hosmer–Lemeshow χ² = 31.20, P < 0.001']);
  });
});

/** Prevalence 0.4: treat-all net benefit 0.4 − 0.6·t/(1 − t), far below zero at high thresholds. */
const DECISION_ROWS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8].map((threshold) => ({
  threshold,
  netBenefitTreatAll: 0.4 - (0.6 * threshold) / (1 - threshold),
  netBenefitModel: 0.35 - 0.4 * threshold,
}));

describe('decisionCurveChart', () => {
  it.each<[ChartLocale, string, string, string, string[]]>([
    ['en', 'Decision curve', 'Threshold probability', 'Net benefit', ['Model', 'Treat all', 'Treat none']],
    ['zh-CN', '决策曲线', '阈值概率', '净获益', ['模型', '全部干预', '均不干预']],
  ])('%s texts', (locale, title, xTitle, yTitle, entries) => {
    const root = parseXml(decisionCurveChart({ rows: DECISION_ROWS }, locale));
    expect(texts(root, 'chart-title')).toEqual([title]);
    expect(texts(root, 'x-axis-title')).toEqual([xTitle]);
    expect(texts(root, 'y-axis-title')).toEqual([yTitle]);
    expect(texts(root, 'legend-entry')).toEqual(entries);
  });

  it('clips the net-benefit axis to −¼ of its top', () => {
    const root = parseXml(decisionCurveChart({ rows: DECISION_ROWS }, 'en'));
    // Top 0.4 (treat all at threshold 0), bottom max(−2.0, −0.1) = −0.1, step 0.1.
    expect(texts(root, 'y-tick')).toEqual(['-0.1', '0.0', '0.1', '0.2', '0.3', '0.4']);
    expect(texts(root, 'x-tick')).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8']);
  });

  it('three lines, treat none at net benefit 0', () => {
    const root = parseXml(decisionCurveChart({ rows: [...DECISION_ROWS].reverse() }, 'en'));
    const lines = byClass(root, 'series-line');
    expect(lines).toHaveLength(3);
    expect(pointsOf(lines[0]!)).toHaveLength(9);
    expect(pointsOf(lines[1]!)).toHaveLength(9);
    // y domain [−0.1, 0.4]: net benefit 0 at 416 − 368·(0.1 / 0.5) = 342.4; x from 0 to 0.8.
    expect(pointsOf(lines[2]!)).toEqual([
      { x: 72, y: 342.4 },
      { x: 616, y: 342.4 },
    ]);
    // Model at threshold 0.4: 0.35 − 0.16 = 0.19 → y = 416 − 368·(0.29 / 0.5) = 202.56; x = 72 + 544·0.5.
    expect(pointsOf(lines[0]!)[4]).toEqual({ x: 344, y: 202.56 });
  });

  it('rejects an empty table', () => {
    expect(() => decisionCurveChart({ rows: [] }, 'en')).toThrow(/at least one threshold/);
  });
});

function group(label: string, times: number[], drop: number) {
  return {
    label,
    steps: times.map((time, index) => {
      const survival = 1 - (index + 1) * drop;
      return { time, survival, lower: survival - 0.1, upper: Math.min(1, survival + 0.1) };
    }),
  };
}

const SURVIVAL_DATA = {
  groups: [
    group('High (n = 40)', [100, 400, 900, 1500], 0.15),
    group('Low (n = 45)', [300, 1300, 1700], 0.05),
  ],
  logRankP: 0.0004,
  hazardRatio: { value: 2.314, lower: 1.2, upper: 4.451 },
};

describe('survivalChart', () => {
  it.each<[ChartLocale, string, string, string, string[]]>([
    [
      'en',
      'Kaplan–Meier survival by predicted class',
      'Time (days)',
      'Survival probability',
      ['Log-rank P < 0.001', 'HR 2.31 (95% CI 1.20–4.45)', 'Shaded: 95% CI'],
    ],
    [
      'zh-CN',
      '按预测分组的 Kaplan–Meier 生存曲线',
      '时间（天）',
      '生存概率',
      ['Log-rank 检验 P < 0.001', 'HR 2.31（95% CI 1.20–4.45）', '阴影：95% CI'],
    ],
  ])('%s texts', (locale, title, xTitle, yTitle, notes) => {
    const root = parseXml(survivalChart(SURVIVAL_DATA, locale));
    expect(texts(root, 'chart-title')).toEqual([title]);
    expect(texts(root, 'x-axis-title')).toEqual([xTitle]);
    expect(texts(root, 'y-axis-title')).toEqual([yTitle]);
    expect(texts(root, 'legend-entry')).toEqual(['High (n = 40)', 'Low (n = 45)']);
    expect(texts(root, 'legend-note')).toEqual(notes);
  });

  it('step functions start at (0, 1) on a day axis', () => {
    const root = parseXml(survivalChart(SURVIVAL_DATA, 'en'));
    expect(texts(root, 'x-tick')).toEqual(['0', '500', '1000', '1500', '2000']);
    const lines = byClass(root, 'series-line');
    expect(lines).toHaveLength(2);
    const high = pointsOf(lines[0]!);
    // 4 steps plus (0, 1): 5 points, 2·5 − 1 vertices.
    expect(high).toHaveLength(9);
    expect(high[0]).toEqual({ x: 72, y: 48 });
    // Drop at day 400 from 0.85 to 0.7: x = 72 + 544·400/2000 = 180.8.
    expect(high[3]).toEqual({ x: 180.8, y: 103.2 });
    expect(high[4]).toEqual({ x: 180.8, y: 158.4 });
    expect(pointsOf(lines[1]!)).toHaveLength(7);
    expect(byClass(root, 'series-band')).toHaveLength(2);
    expect(lines[1]!.attributes['stroke-dasharray']).toBe('7 4');
  });

  it('no bands and no band note when switched off, no HR when absent', () => {
    const { hazardRatio: _omitted, ...withoutHazardRatio } = SURVIVAL_DATA;
    const root = parseXml(survivalChart({ ...withoutHazardRatio, showConfidenceBands: false }, 'en'));
    expect(byClass(root, 'series-band')).toHaveLength(0);
    expect(texts(root, 'legend-note')).toEqual(['Log-rank P < 0.001']);
  });

  it('keeps a given start at time 0', () => {
    const root = parseXml(
      survivalChart(
        {
          groups: [
            {
              label: 'g',
              steps: [
                { time: 0, survival: 1, lower: 1, upper: 1 },
                { time: 50, survival: 0.5, lower: 0.3, upper: 0.7 },
              ],
            },
          ],
          logRankP: 0.5,
        },
        'en',
      ),
    );
    expect(pointsOf(byClass(root, 'series-line')[0]!)).toHaveLength(3);
  });
});

describe('chartText', () => {
  it('predicted class labels for the caller', () => {
    expect(chartText('en', 'predictedHigh')).toBe('Predicted high NQO1');
    expect(chartText('zh-CN', 'predictedLow')).toBe('预测 NQO1 低表达');
  });
});
