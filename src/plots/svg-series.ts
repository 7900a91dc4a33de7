/**
 * Series of a line chart as SVG: the polyline of a line or step function, its markers and its
 * shaded band, all mapped from data units to pixels.
 */

import { type LineStyle, dashAttribute, escapeXml, px } from './svg-markup.js';

/** A point in data units. */
export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

/** The bounds of a shaded band at one x, in data units. A non-finite bound leaves a gap. */
export interface BandPoint {
  readonly x: number;
  readonly lower: number;
  readonly upper: number;
}

/** One data series. */
export interface ChartSeries {
  /** Legend text. An empty label leaves the series out of the legend. */
  readonly label: string;
  readonly points: readonly ChartPoint[];
  /**
   * `line` joins the points straight. `step` keeps each y until the next x and then drops, as the
   * right-continuous step function of a Kaplan–Meier curve does. Default `line`.
   */
  readonly shape?: 'line' | 'step';
  /** Default `solid`. */
  readonly lineStyle?: LineStyle;
  /** Draws a dot at each point. Default false. */
  readonly markers?: boolean;
  /** CSS colour. The default is the palette colour at the series' position. */
  readonly colour?: string;
  /** Band shaded in the series colour, drawn with the series' shape (a confidence interval). */
  readonly band?: readonly BandPoint[];
}

/** Maps data coordinates of the two axes to pixels of the plot area (y grows downward in SVG). */
export interface PixelMapping {
  readonly x: (value: number) => number;
  readonly y: (value: number) => number;
}

export function seriesGroup(series: ChartSeries, colour: string, map: PixelMapping): string {
  const vertices = series.shape === 'step' ? stepVertices(series.points) : series.points;
  const parts = [`<g class="series" data-label="${escapeXml(series.label)}">`];
  parts.push(
    `<polyline class="series-line" points="${pointList(vertices, map)}" fill="none" stroke="${escapeXml(colour)}" stroke-width="2" stroke-linejoin="round"${dashAttribute(series.lineStyle ?? 'solid')}/>`,
  );
  if (series.markers === true) {
    for (const point of series.points) {
      parts.push(
        `<circle class="series-marker" cx="${px(map.x(point.x))}" cy="${px(map.y(point.y))}" r="4" fill="${escapeXml(colour)}" stroke="#FFFFFF" stroke-width="1"/>`,
      );
    }
  }
  parts.push('</g>');
  return parts.join('\n');
}

/**
 * Turns the band into one polygon per run of finite bounds: the upper bound forward, the lower
 * bound back. A step band keeps each bound up to the next x, also past the last point of a run.
 */
export function bandPolygons(series: ChartSeries, colour: string, map: PixelMapping): string[] {
  const band = series.band ?? [];
  const polygons: string[] = [];
  let runStart = 0;
  while (runStart < band.length) {
    if (!isFiniteBand(band[runStart]!)) {
      runStart++;
      continue;
    }
    let runEnd = runStart;
    while (runEnd + 1 < band.length && isFiniteBand(band[runEnd + 1]!)) runEnd++;
    const run = band.slice(runStart, runEnd + 1);
    const next = band[runEnd + 1];

    let upper = run.map((point) => ({ x: point.x, y: point.upper }));
    let lower = run.map((point) => ({ x: point.x, y: point.lower }));
    if (series.shape === 'step') {
      upper = stepVertices(upper, next?.x);
      lower = stepVertices(lower, next?.x);
    }
    const outline = [...upper, ...lower.reverse()];
    polygons.push(
      `<polygon class="series-band" points="${pointList(outline, map)}" fill="${escapeXml(colour)}" fill-opacity="0.18" stroke="none"/>`,
    );
    runStart = runEnd + 1;
  }
  return polygons;
}

function isFiniteBand(point: BandPoint): boolean {
  return Number.isFinite(point.lower) && Number.isFinite(point.upper);
}

/** Vertices of a right-continuous step through the points, optionally held on to `endX`. */
export function stepVertices(points: readonly ChartPoint[], endX?: number): ChartPoint[] {
  const vertices: ChartPoint[] = [];
  points.forEach((point, index) => {
    const previous = points[index - 1];
    if (previous !== undefined) vertices.push({ x: point.x, y: previous.y });
    vertices.push(point);
  });
  const last = points[points.length - 1];
  if (last !== undefined && endX !== undefined && endX > last.x) vertices.push({ x: endX, y: last.y });
  return vertices;
}

function pointList(points: readonly ChartPoint[], map: PixelMapping): string {
  return points.map((point) => `${px(map.x(point.x))},${px(map.y(point.y))}`).join(' ');
}
