/**
 * ROC chart: sensitivity against 1 − specificity, with the chance diagonal and the AUC with its
 * confidence interval in the legend.
 */

import { type ChartLocale, chartText } from './chart-text.js';
import { formatFixed } from './nice-scale.js';
import { type ChartPoint, lineChartSvg } from './svg-chart.js';

/** One operating point of the classifier, both values in [0, 1]. */
export interface RocPoint {
  readonly specificity: number;
  readonly sensitivity: number;
}

export interface RocChartData {
  readonly points: readonly RocPoint[];
  readonly auc: number;
  /** 95 % confidence interval of the AUC (DeLong). */
  readonly ci: { readonly lower: number; readonly upper: number };
}

/**
 * Draws the ROC curve. The points are sorted by 1 − specificity, then by sensitivity, so that ties
 * form the vertical runs of an empirical ROC curve. The end points (0, 0) and (1, 1) are added when
 * missing, because the thresholds above the highest and below the lowest score always give them.
 *
 * @throws TypeError when a specificity or sensitivity lies outside [0, 1].
 */
export function rocChart(data: RocChartData, locale: ChartLocale): string {
  const curve: ChartPoint[] = data.points.map((point) => {
    for (const value of [point.specificity, point.sensitivity]) {
      if (!(value >= 0 && value <= 1)) {
        throw new TypeError(`ROC point has a value outside [0, 1]: ${JSON.stringify(point)}`);
      }
    }
    return { x: 1 - point.specificity, y: point.sensitivity };
  });
  curve.sort((a, b) => a.x - b.x || a.y - b.y);
  if (!curve.some((point) => point.x === 0 && point.y === 0)) curve.unshift({ x: 0, y: 0 });
  if (!curve.some((point) => point.x === 1 && point.y === 1)) curve.push({ x: 1, y: 1 });

  const modelLabel = chartText(locale, 'rocModel', {
    auc: formatFixed(data.auc, 3),
    lower: formatFixed(data.ci.lower, 3),
    upper: formatFixed(data.ci.upper, 3),
  });
  return lineChartSvg({
    title: chartText(locale, 'rocTitle'),
    xAxis: { title: chartText(locale, 'rocAxisX'), min: 0, max: 1, fixed: true },
    yAxis: { title: chartText(locale, 'rocAxisY'), min: 0, max: 1, fixed: true },
    series: [{ label: modelLabel, points: curve }],
    referenceLines: [{ from: { x: 0, y: 0 }, to: { x: 1, y: 1 }, label: chartText(locale, 'rocChance') }],
    legendCorner: 'bottom-right',
  });
}
