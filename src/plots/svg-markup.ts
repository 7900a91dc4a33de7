/**
 * Markup helpers shared by the chart builder and its legend: XML escaping, pixel formatting, line
 * dash patterns and a text-width estimate.
 */

export type LineStyle = 'solid' | 'dashed' | 'dotted';

/** `stroke-dasharray` of each line style, in pixels. Solid lines have none. */
export const DASH_ARRAYS: Readonly<Record<LineStyle, string | undefined>> = {
  solid: undefined,
  dashed: '7 4',
  dotted: '2 3',
};

const XML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes the five XML special characters, for text content and attribute values alike. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => XML_ENTITIES[character]!);
}

/** Writes a pixel coordinate with at most two decimals, enough for sub-pixel placement. */
export function px(value: number): string {
  return String(Number(value.toFixed(2)));
}

/** Returns the ` stroke-dasharray="…"` attribute of a line style, or nothing for solid lines. */
export function dashAttribute(style: LineStyle): string {
  const dashArray = DASH_ARRAYS[style];
  return dashArray === undefined ? '' : ` stroke-dasharray="${dashArray}"`;
}

/**
 * Estimates the rendered width of a text line, because SVG offers no text measurement: 1 em for
 * CJK characters and full-width punctuation, 0.58 em for others, about the mean advance of Arial.
 */
export function estimateTextWidth(text: string, fontSizePx: number): number {
  let ems = 0;
  for (const character of text) {
    ems += /[\p{Script=Han}\u3000-\u303F\uFF00-\uFFEF]/u.test(character) ? 1 : 0.58;
  }
  return ems * fontSizePx;
}
