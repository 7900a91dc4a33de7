/**
 * Calibration chart: the observed proportion of positive cases against the mean predicted
 * probability in each risk group, with the diagonal of ideal calibration and the Hosmer–Lemeshow
 * test in the legend.
 */

import { type ChartLocale, chartText, formatPValue } from './chart-text.js';
import { formatFixed } from './nice-scale.js';
import { lineChartSvg } from './svg-chart.js';

/** One risk group: its mean predicted probability, observed proportion and number of cases. */
export interface CalibrationGroup {
  readonly meanPredicted: number;
  readonly observedRate: number;
  readonly count: number;
}

export interface CalibrationChartData {
  readonly groups: readonly CalibrationGroup[];
  readonly hosmerLemeshow: { readonly statistic: number; readonly pValue: number };
}

/** Draws the calibration plot: one dot per group, joined in order of mean predicted probability. */
export function calibrationChart(data: CalibrationChartData, locale: ChartLocale): string {
  const points = data.groups
    .map((group) => ({ x: group.meanPredicted, y: group.observedRate }))
    .sort((a, b) => a.x - b.x);
  const cases = data.groups.reduce((sum, group) => sum + group.count, 0);

  return lineChartSvg({
    title: chartText(locale, 'calibrationTitle'),
    xAxis: { title: chartText(locale, 'calibrationAxisX'), min: 0, max: 1, fixed: true },
    yAxis: { title: chartText(locale, 'calibrationAxisY'), min: 0, max: 1, fixed: true },
    series: [
      {
        label: chartText(locale, 'calibrationModel', { groups: data.groups.length, cases }),
        points,
        markers: true,
      },
    ],
    referenceLines: [
      { from: { x: 0, y: 0 }, to: { x: 1, y: 1 }, label: chartText(locale, 'calibrationIdeal') },
    ],
    legendCorner: 'bottom-right',
    notes: [
      chartText(locale, 'hosmerLemeshow', {
        statistic: formatFixed(data.hosmerLemeshow.statistic, 2),
        pValue: formatPValue(data.hosmerLemeshow.pValue),
      }),
    ],
  });
}
