/**
 * Kaplan–Meier chart: survival step functions of the predicted classes from (0, 1), with optional
 * shaded confidence bands, the log-rank p-value and, when given, the hazard ratio in the legend.
 */

import { type ChartLocale, chartText, formatPValue } from './chart-text.js';
import { formatFixed } from './nice-scale.js';
import { type ChartSeries, type LineStyle, lineChartSvg } from './svg-chart.js';

/**
 * The Kaplan–Meier estimate from `time` (days) on, with its confidence bounds. A non-finite bound
 * leaves that step without a band.
 */
export interface SurvivalStep {
  readonly time: number;
  readonly survival: number;
  readonly lower: number;
  readonly upper: number;
}

export interface SurvivalGroup {
  /** Legend text, such as `chartText(locale, 'predictedHigh')` with the group size. */
  readonly label: string;
  /**
   * Steps in days in increasing time. The curve ends at the last step, so a group whose follow-up
   * outlasts its last event needs a final step at the last follow-up time with unchanged survival.
   */
  readonly steps: readonly SurvivalStep[];
}

export interface SurvivalChartData {
  readonly groups: readonly SurvivalGroup[];
  readonly logRankP: number;
  readonly hazardRatio?: { readonly value: number; readonly lower: number; readonly upper: number };
  /** Shades the confidence band of each group. Default true. */
  readonly showConfidenceBands?: boolean;
}

const LINE_STYLES: readonly LineStyle[] = ['solid', 'dashed', 'dotted'];

/** Draws one step function per group over a time axis in days. */
export function survivalChart(data: SurvivalChartData, locale: ChartLocale): string {
  const showBands = data.showConfidenceBands ?? true;
  const series: ChartSeries[] = data.groups.map((group, index) => {
    const steps = startAtOne(group.steps);
    return {
      label: group.label,
      points: steps.map((step) => ({ x: step.time, y: step.survival })),
      shape: 'step',
      lineStyle: LINE_STYLES[index % LINE_STYLES.length]!,
      ...(showBands
        ? { band: steps.map((step) => ({ x: step.time, lower: step.lower, upper: step.upper })) }
        : {}),
    };
  });

  const notes = [chartText(locale, 'logRank', { pValue: formatPValue(data.logRankP) })];
  if (data.hazardRatio !== undefined) {
    notes.push(
      chartText(locale, 'hazardRatio', {
        value: formatFixed(data.hazardRatio.value, 2),
        lower: formatFixed(data.hazardRatio.lower, 2),
        upper: formatFixed(data.hazardRatio.upper, 2),
      }),
    );
  }
  if (showBands) notes.push(chartText(locale, 'survivalBand'));

  return lineChartSvg({
    title: chartText(locale, 'survivalTitle'),
    xAxis: { title: chartText(locale, 'survivalAxisX'), min: 0 },
    yAxis: { title: chartText(locale, 'survivalAxisY'), min: 0, max: 1, fixed: true },
    series,
    legendCorner: 'bottom-left',
    notes,
  });
}

/** Puts the step (0, 1) with bounds [1, 1] in front unless the steps start at time 0 with survival 1. */
function startAtOne(steps: readonly SurvivalStep[]): SurvivalStep[] {
  const first = steps[0];
  if (first !== undefined && first.time === 0 && first.survival === 1) return [...steps];
  return [{ time: 0, survival: 1, lower: 1, upper: 1 }, ...steps];
}
