/**
 * The pictures of `nqo1-cds evaluate`: ROC, calibration, decision and survival curves, each written
 * as SVG and as PNG (twice the SVG's pixel size) into the output folder. A curve whose statistics
 * are missing from the report is not drawn.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { EvaluationStatistics } from '../model/evaluation.js';
import { calibrationChart } from '../plots/calibration-chart.js';
import { decisionCurveChart } from '../plots/decision-curve-chart.js';
import { svgToPng } from '../plots/png.js';
import { rocChart } from '../plots/roc-chart.js';
import { chartText } from '../plots/chart-text.js';
import { survivalChart } from '../plots/survival-chart.js';
import type { Locale } from './messages.js';

/** File stems of the pictures, so that a new run can remove those of an earlier one. */
const CHART_STEMS = ['roc', 'calibration', 'decision-curve', 'survival'] as const;

/** Raster pixels per SVG pixel of the PNG files. */
const PNG_SCALE = 2;

/** Returns the SVG text of every curve the statistics allow, keyed by file stem. */
export function evaluationSvgs(statistics: EvaluationStatistics, locale: Locale): Map<string, string> {
  const charts = new Map<string, string>();
  const discrimination = statistics.discrimination;
  if (discrimination !== null) {
    charts.set(
      'roc',
      rocChart(
        { points: discrimination.roc, auc: discrimination.auc.auc, ci: discrimination.auc.ci },
        locale,
      ),
    );
    if ('groups' in discrimination.hosmerLemeshow) {
      charts.set(
        'calibration',
        calibrationChart(
          {
            groups: discrimination.hosmerLemeshow.groups,
            hosmerLemeshow: {
              statistic: discrimination.hosmerLemeshow.statistic,
              pValue: discrimination.hosmerLemeshow.pValue,
            },
          },
          locale,
        ),
      );
    }
    charts.set('decision-curve', decisionCurveChart({ rows: discrimination.decisionCurve }, locale));
  }

  const survival = statistics.survival;
  if (survival !== null) {
    const hazardRatio =
      'hazardRatios' in survival.cox
        ? {
            value: survival.cox.hazardRatios[0]!,
            lower: survival.cox.ci[0]!.lower,
            upper: survival.cox.ci[0]!.upper,
          }
        : undefined;
    charts.set(
      'survival',
      survivalChart(
        {
          groups: survival.kaplanMeier.map((group) => ({
            label: `${chartText(locale, group.group === 'high' ? 'predictedHigh' : 'predictedLow')} (n = ${group.n})`,
            // A step where S(t) = 0 has no limits; the band then collapses onto the curve.
            steps: group.steps.map((step) => ({
              time: step.time,
              survival: step.survival,
              lower: step.lower ?? step.survival,
              upper: step.upper ?? step.survival,
            })),
          })),
          logRankP: survival.logRank.pValue,
          ...(hazardRatio === undefined ? {} : { hazardRatio }),
        },
        locale,
      ),
    );
  }
  return charts;
}

/**
 * Removes the pictures an earlier evaluation wrote into `folder`, so that a curve the new cohort
 * does not allow (no survival columns, say) is not left over from the earlier run.
 */
export async function removeEarlierCharts(folder: string): Promise<void> {
  for (const stem of CHART_STEMS) {
    for (const extension of ['svg', 'png']) await rm(join(folder, `${stem}.${extension}`), { force: true });
  }
}

/** Writes each curve as `<stem>.svg` and `<stem>.png` into `folder`; returns the paths and PNG warnings. */
export async function writeEvaluationCharts(
  statistics: EvaluationStatistics,
  folder: string,
  locale: Locale,
): Promise<{ files: string[]; warnings: string[] }> {
  const files: string[] = [];
  const warnings = new Set<string>();
  for (const [stem, svg] of evaluationSvgs(statistics, locale)) {
    const svgPath = join(folder, `${stem}.svg`);
    await writeFile(svgPath, svg);
    const rendering = svgToPng(svg, { scale: PNG_SCALE, locale });
    const pngPath = join(folder, `${stem}.png`);
    await writeFile(pngPath, rendering.png);
    files.push(svgPath, pngPath);
    for (const warning of rendering.warnings) warnings.add(warning.message);
  }
  return { files, warnings: [...warnings] };
}
