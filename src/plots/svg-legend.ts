/**
 * Legend of a line chart: a boxed list of line swatches with their labels, followed by plain text
 * notes, placed in a corner of the plot area.
 */

import { type LineStyle, dashAttribute, escapeXml, estimateTextWidth, px } from './svg-markup.js';

/** One legend line with the swatch of its series or reference line. */
export interface LegendEntry {
  readonly label: string;
  readonly colour: string;
  readonly lineStyle: LineStyle;
  readonly marker: boolean;
}

export type LegendCorner = 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';

/** A rectangle in pixels from the top-left corner of the chart. */
export interface PixelBox {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

const FONT_SIZE = 12;
const LINE_HEIGHT = 18;
const PADDING = 8;
const SWATCH_WIDTH = 26;
const SWATCH_GAP = 6;
/** Distance of the legend box from the edges of the plot area. */
const INSET = 10;

/** Returns the legend's SVG elements, or none when there are neither entries nor notes. */
export function legendMarkup(
  entries: readonly LegendEntry[],
  notes: readonly string[],
  corner: LegendCorner,
  plotArea: PixelBox,
): string[] {
  if (entries.length === 0 && notes.length === 0) return [];

  const widest = Math.max(
    ...entries.map((entry) => SWATCH_WIDTH + SWATCH_GAP + estimateTextWidth(entry.label, FONT_SIZE)),
    ...notes.map((note) => estimateTextWidth(note, FONT_SIZE)),
  );
  const width = Math.min(widest + 2 * PADDING, plotArea.right - plotArea.left - 2 * INSET);
  const height = (entries.length + notes.length) * LINE_HEIGHT + 2 * PADDING - 4;
  const left = corner.endsWith('left') ? plotArea.left + INSET : plotArea.right - INSET - width;
  const top = corner.startsWith('top') ? plotArea.top + INSET : plotArea.bottom - INSET - height;
  const baseline = (line: number): number => top + PADDING + line * LINE_HEIGHT + 10;

  const parts = [
    `<g class="legend" font-size="${FONT_SIZE}">`,
    `<rect x="${px(left)}" y="${px(top)}" width="${px(width)}" height="${px(height)}" fill="#FFFFFF" fill-opacity="0.9" stroke="#BBBBBB"/>`,
  ];
  entries.forEach((entry, line) => {
    const swatchY = px(baseline(line) - 4);
    const colour = escapeXml(entry.colour);
    parts.push(
      `<line x1="${px(left + PADDING)}" y1="${swatchY}" x2="${px(left + PADDING + SWATCH_WIDTH)}" y2="${swatchY}" stroke="${colour}" stroke-width="2"${dashAttribute(entry.lineStyle)}/>`,
    );
    if (entry.marker) {
      parts.push(
        `<circle cx="${px(left + PADDING + SWATCH_WIDTH / 2)}" cy="${swatchY}" r="4" fill="${colour}"/>`,
      );
    }
    parts.push(
      `<text class="legend-entry" x="${px(left + PADDING + SWATCH_WIDTH + SWATCH_GAP)}" y="${px(baseline(line))}">${escapeXml(entry.label)}</text>`,
    );
  });
  notes.forEach((note, index) => {
    parts.push(
      `<text class="legend-note" x="${px(left + PADDING)}" y="${px(baseline(entries.length + index))}">${escapeXml(note)}</text>`,
    );
  });
  parts.push('</g>');
  return parts;
}
