/**
 * Decision curve (Vickers and Elkin, Med Decis Making 2006;26:565–574): net benefit of acting on
 * the model, of treating everyone and of treating no one, across threshold probabilities.
 */

import { type ChartLocale, chartText } from './chart-text.js';
import { lineChartSvg } from './svg-chart.js';

/** Net benefits at one threshold probability. */
export interface DecisionCurveRow {
  readonly threshold: number;
  readonly netBenefitModel: number;
  readonly netBenefitTreatAll: number;
}

export interface DecisionCurveChartData {
  readonly rows: readonly DecisionCurveRow[];
}

/**
 * Lower end of the net-benefit axis as a fraction of its upper end. Treat-all net benefit falls
 * without bound as the threshold nears 1, so the axis stops at −¼ of the highest net benefit (then
 * widened to a tick) and lines below it are clipped, which keeps the useful range readable.
 */
const LOWEST_NET_BENEFIT_FRACTION = 0.25;

/** Net-benefit axis top used when no strategy has a positive net benefit. */
const MIN_NET_BENEFIT_TOP = 0.05;

/** Draws model, treat-all and treat-none (net benefit 0) lines over the thresholds of the rows. */
export function decisionCurveChart(data: DecisionCurveChartData, locale: ChartLocale): string {
  const rows = [...data.rows].sort((a, b) => a.threshold - b.threshold);
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first === undefined || last === undefined) {
    throw new TypeError('a decision curve needs at least one threshold row');
  }

  const values = rows.flatMap((row) => [row.netBenefitModel, row.netBenefitTreatAll]);
  const top = Math.max(MIN_NET_BENEFIT_TOP, ...values);
  const bottom = Math.min(0, Math.max(Math.min(...values), -LOWEST_NET_BENEFIT_FRACTION * top));

  return lineChartSvg({
    title: chartText(locale, 'decisionTitle'),
    xAxis: { title: chartText(locale, 'decisionAxisX'), min: first.threshold, max: last.threshold },
    yAxis: { title: chartText(locale, 'decisionAxisY'), min: bottom, max: top },
    series: [
      {
        label: chartText(locale, 'decisionModel'),
        points: rows.map((row) => ({ x: row.threshold, y: row.netBenefitModel })),
      },
      {
        label: chartText(locale, 'decisionTreatAll'),
        points: rows.map((row) => ({ x: row.threshold, y: row.netBenefitTreatAll })),
        lineStyle: 'dashed',
      },
      {
        label: chartText(locale, 'decisionTreatNone'),
        points: [
          { x: first.threshold, y: 0 },
          { x: last.threshold, y: 0 },
        ],
        lineStyle: 'dotted',
        colour: '#000000',
      },
    ],
    legendCorner: 'top-right',
  });
}
