/**
 * A small SVG line-chart builder for the evaluation report: one plot area with ticked axes, a title,
 * axis titles, line or step series with optional shaded bands, dashed reference lines and a legend.
 *
 * The output is a standalone SVG 1.1 document of fixed size with a white background. Every text
 * and attribute value is escaped for XML. The font list starts with fonts that have Simplified
 * Chinese glyphs and ends with generic sans-serif, so zh-CN charts render wherever one of them is
 * installed. Series colours follow the Okabe–Ito palette, which stays distinguishable under the
 * common colour-vision deficiencies, and line styles differ as well for greyscale prints.
 */

import { type AxisScale, formatFixed, linearAxis } from './nice-scale.js';
import { type LegendCorner, type LegendEntry, legendMarkup } from './svg-legend.js';
import { dashAttribute, escapeXml, px } from './svg-markup.js';
import {
  type ChartPoint,
  type ChartSeries,
  type PixelMapping,
  bandPolygons,
  seriesGroup,
} from './svg-series.js';

export type { LegendCorner } from './svg-legend.js';
export type { LineStyle } from './svg-markup.js';
export { escapeXml } from './svg-markup.js';
export type { BandPoint, ChartPoint, ChartSeries, PixelMapping } from './svg-series.js';
export { stepVertices } from './svg-series.js';

/** A dashed grey straight line, such as the chance diagonal of a ROC plot. */
export interface ReferenceLine {
  readonly from: ChartPoint;
  readonly to: ChartPoint;
  /** Legend text; omitted or empty leaves the line out of the legend. */
  readonly label?: string;
}

/**
 * An axis. Without `min` and `max` the domain comes from the data. With `fixed` the domain is
 * exactly [min, max]. Otherwise it widens to the nearest tick multiples. Data outside the domain
 * is clipped at the plot area's edge.
 */
export interface AxisSpec {
  readonly title: string;
  readonly min?: number;
  readonly max?: number;
  readonly fixed?: boolean;
}

export interface LineChartSpec {
  readonly title: string;
  readonly xAxis: AxisSpec;
  readonly yAxis: AxisSpec;
  readonly series: readonly ChartSeries[];
  readonly referenceLines?: readonly ReferenceLine[];
  /** Corner of the plot area that contains the legend. Default `bottom-right`. */
  readonly legendCorner?: LegendCorner;
  /** Text lines under the legend entries, for statistics such as a p-value. */
  readonly notes?: readonly string[];
}

/** Size of every chart, in CSS pixels (1 px per SVG user unit). */
export const CHART_SIZE = { widthPx: 640, heightPx: 480 } as const;

/** The plot area inside the chart, in pixels from the top-left corner. */
export const PLOT_AREA = { left: 72, top: 48, right: 616, bottom: 416 } as const;

/** Okabe–Ito colours (Okabe and Ito, "Color Universal Design", 2008), without black and yellow. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'] as const;

/**
 * Fonts in order of preference: CJK fonts that also cover Latin text (Linux, macOS, Windows), then
 * Latin fonts, whose missing Chinese glyphs a renderer takes from any installed CJK font. The list
 * has no space after its commas because resvg 2.6.2 skips a quoted name that follows ", ".
 */
export const CHART_FONT_FAMILY =
  "'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','PingFang SC','Microsoft YaHei','Noto Sans',Arial,'Liberation Sans','DejaVu Sans',sans-serif";

const REFERENCE_COLOUR = '#808080';
const GRID_COLOUR = '#E5E5E5';
const TEXT_COLOUR = '#222222';

const TITLE_FONT_SIZE = 17;
const AXIS_TITLE_FONT_SIZE = 14;
const TICK_FONT_SIZE = 12;

/** Returns the pixel mapping of the plot area for the two axis domains. */
export function plotMapping(xScale: AxisScale, yScale: AxisScale): PixelMapping {
  const width = PLOT_AREA.right - PLOT_AREA.left;
  const height = PLOT_AREA.bottom - PLOT_AREA.top;
  return {
    x: (value) => PLOT_AREA.left + ((value - xScale.min) / (xScale.max - xScale.min)) * width,
    y: (value) => PLOT_AREA.bottom - ((value - yScale.min) / (yScale.max - yScale.min)) * height,
  };
}

/**
 * Builds the SVG document of a line chart.
 *
 * @throws TypeError when a coordinate of a series or reference line is not finite, or an axis has
 *   min > max: the statistics code must not hand NaN to a chart.
 */
export function lineChartSvg(spec: LineChartSpec): string {
  const referenceLines = spec.referenceLines ?? [];
  checkFinite(spec);

  const xScale = axisScale(spec.xAxis, dataValues(spec, 'x'));
  const yScale = axisScale(spec.yAxis, dataValues(spec, 'y'));
  const map = plotMapping(xScale, yScale);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_SIZE.widthPx}" height="${CHART_SIZE.heightPx}" viewBox="0 0 ${CHART_SIZE.widthPx} ${CHART_SIZE.heightPx}" font-family="${escapeXml(CHART_FONT_FAMILY)}" fill="${TEXT_COLOUR}">`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<rect width="${CHART_SIZE.widthPx}" height="${CHART_SIZE.heightPx}" fill="#FFFFFF"/>`,
    // Every chart has the same plot area, so a repeated id on one HTML page clips identically.
    `<defs><clipPath id="plot-area"><rect x="${PLOT_AREA.left}" y="${PLOT_AREA.top}" width="${PLOT_AREA.right - PLOT_AREA.left}" height="${PLOT_AREA.bottom - PLOT_AREA.top}"/></clipPath></defs>`,
    ...gridAndAxes(xScale, yScale, map),
    '<g clip-path="url(#plot-area)">',
  ];

  // Bands first, so that no band covers a line.
  spec.series.forEach((series, index) => {
    if (series.band !== undefined) parts.push(...bandPolygons(series, seriesColour(series, index), map));
  });
  for (const line of referenceLines) {
    parts.push(
      `<line class="reference-line" x1="${px(map.x(line.from.x))}" y1="${px(map.y(line.from.y))}" x2="${px(map.x(line.to.x))}" y2="${px(map.y(line.to.y))}" stroke="${REFERENCE_COLOUR}" stroke-width="1.5"${dashAttribute('dashed')}/>`,
    );
  }
  spec.series.forEach((series, index) => {
    parts.push(seriesGroup(series, seriesColour(series, index), map));
  });
  parts.push('</g>');

  parts.push(...titles(spec));
  parts.push(
    ...legendMarkup(legendEntries(spec), spec.notes ?? [], spec.legendCorner ?? 'bottom-right', PLOT_AREA),
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function checkFinite(spec: LineChartSpec): void {
  for (const series of spec.series) {
    for (const point of series.points) {
      if (!Number.isFinite(point.x) || !Number.isFinite(point.y)) {
        throw new TypeError(`series "${series.label}" has a non-finite point (${point.x}, ${point.y})`);
      }
    }
    for (const point of series.band ?? []) {
      if (!Number.isFinite(point.x)) throw new TypeError(`band of "${series.label}" has x = ${point.x}`);
    }
  }
  for (const line of spec.referenceLines ?? []) {
    const values = [line.from.x, line.from.y, line.to.x, line.to.y];
    if (!values.every(Number.isFinite)) {
      throw new TypeError(`reference line "${line.label ?? ''}" has a non-finite end: ${values.join(', ')}`);
    }
  }
}

/** Collects every finite data value along one axis: points, finite band bounds and reference-line ends. */
function dataValues(spec: LineChartSpec, axis: 'x' | 'y'): number[] {
  const values: number[] = [];
  for (const series of spec.series) {
    for (const point of series.points) values.push(point[axis]);
    for (const point of series.band ?? []) {
      if (axis === 'x') values.push(point.x);
      else values.push(...[point.lower, point.upper].filter(Number.isFinite));
    }
  }
  for (const line of spec.referenceLines ?? []) values.push(line.from[axis], line.to[axis]);
  return values;
}

function axisScale(axis: AxisSpec, values: readonly number[]): AxisScale {
  const dataMin = values.length === 0 ? 0 : Math.min(...values);
  const dataMax = values.length === 0 ? 1 : Math.max(...values);
  return linearAxis(axis.min ?? dataMin, axis.max ?? dataMax, axis.fixed === true);
}

function gridAndAxes(xScale: AxisScale, yScale: AxisScale, map: PixelMapping): string[] {
  const parts = ['<g class="grid" stroke="' + GRID_COLOUR + '" stroke-width="1">'];
  for (const tick of xScale.ticks) {
    parts.push(
      `<line x1="${px(map.x(tick))}" y1="${PLOT_AREA.top}" x2="${px(map.x(tick))}" y2="${PLOT_AREA.bottom}"/>`,
    );
  }
  for (const tick of yScale.ticks) {
    parts.push(
      `<line x1="${PLOT_AREA.left}" y1="${px(map.y(tick))}" x2="${PLOT_AREA.right}" y2="${px(map.y(tick))}"/>`,
    );
  }
  parts.push('</g>');

  parts.push(`<g class="axes" stroke="${TEXT_COLOUR}" stroke-width="1">`);
  parts.push(
    `<line x1="${PLOT_AREA.left}" y1="${PLOT_AREA.bottom}" x2="${PLOT_AREA.right}" y2="${PLOT_AREA.bottom}"/>`,
    `<line x1="${PLOT_AREA.left}" y1="${PLOT_AREA.top}" x2="${PLOT_AREA.left}" y2="${PLOT_AREA.bottom}"/>`,
  );
  for (const tick of xScale.ticks) {
    const x = px(map.x(tick));
    parts.push(`<line x1="${x}" y1="${PLOT_AREA.bottom}" x2="${x}" y2="${PLOT_AREA.bottom + 5}"/>`);
  }
  for (const tick of yScale.ticks) {
    const y = px(map.y(tick));
    parts.push(`<line x1="${PLOT_AREA.left - 5}" y1="${y}" x2="${PLOT_AREA.left}" y2="${y}"/>`);
  }
  parts.push('</g>');

  parts.push(`<g class="tick-labels" font-size="${TICK_FONT_SIZE}" stroke="none">`);
  for (const tick of xScale.ticks) {
    parts.push(
      `<text class="x-tick" x="${px(map.x(tick))}" y="${PLOT_AREA.bottom + 20}" text-anchor="middle">${formatFixed(tick, xScale.decimals)}</text>`,
    );
  }
  for (const tick of yScale.ticks) {
    parts.push(
      `<text class="y-tick" x="${PLOT_AREA.left - 9}" y="${px(map.y(tick) + 4)}" text-anchor="end">${formatFixed(tick, yScale.decimals)}</text>`,
    );
  }
  parts.push('</g>');
  return parts;
}

function titles(spec: LineChartSpec): string[] {
  const centreX = (PLOT_AREA.left + PLOT_AREA.right) / 2;
  const centreY = (PLOT_AREA.top + PLOT_AREA.bottom) / 2;
  return [
    `<text class="chart-title" x="${centreX}" y="30" text-anchor="middle" font-size="${TITLE_FONT_SIZE}" font-weight="bold">${escapeXml(spec.title)}</text>`,
    `<text class="x-axis-title" x="${centreX}" y="${PLOT_AREA.bottom + 46}" text-anchor="middle" font-size="${AXIS_TITLE_FONT_SIZE}">${escapeXml(spec.xAxis.title)}</text>`,
    `<text class="y-axis-title" x="0" y="0" transform="translate(20 ${centreY}) rotate(-90)" text-anchor="middle" font-size="${AXIS_TITLE_FONT_SIZE}">${escapeXml(spec.yAxis.title)}</text>`,
  ];
}

function seriesColour(series: ChartSeries, index: number): string {
  return series.colour ?? PALETTE[index % PALETTE.length]!;
}

function legendEntries(spec: LineChartSpec): LegendEntry[] {
  const entries: LegendEntry[] = [];
  spec.series.forEach((series, index) => {
    if (series.label === '') return;
    entries.push({
      label: series.label,
      colour: seriesColour(series, index),
      lineStyle: series.lineStyle ?? 'solid',
      marker: series.markers === true,
    });
  });
  for (const line of spec.referenceLines ?? []) {
    if (line.label !== undefined && line.label !== '') {
      entries.push({ label: line.label, colour: REFERENCE_COLOUR, lineStyle: 'dashed', marker: false });
    }
  }
  return entries;
}
