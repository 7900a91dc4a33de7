/**
 * PNG rendering of the chart SVGs with resvg (`@resvg/resvg-js`), which rasterises SVG without a
 * browser. resvg draws text only with the fonts it is given, so this module loads the system fonts
 * (the fontconfig folders) plus any font files the caller names. When no loaded font draws the
 * chart's Latin text, or its Chinese text, the PNG is still written with gaps or boxes in place of
 * the characters, and a warning names the font package to install.
 */

import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';

import { type ChartLocale, chartText } from './chart-text.js';
import { CHART_FONT_FAMILY, escapeXml } from './svg-chart.js';

export interface PngOptions {
  /** Raster pixels per SVG pixel: 2 gives 1280 × 960 px for a 640 × 480 chart. Default 1. */
  readonly scale?: number;
  /** Font files (TTF, OTF or TTC) to load besides the system fonts, such as a CJK font. */
  readonly fontFiles?: readonly string[];
  /** Loads the fonts installed in the system font folders. Default true. */
  readonly loadSystemFonts?: boolean;
  /**
   * Font for text whose font list matches no loaded font. resvg's default is the first font it
   * loaded, which may be a symbol or CJK font, so a site can name a Latin sans-serif here.
   */
  readonly defaultFontFamily?: string;
  /** Language of the warnings. Default `en`. */
  readonly locale?: ChartLocale;
}

/** A problem that still let the PNG be written. */
export interface PngWarning {
  /**
   * `font-missing`: no loaded font has Latin letters, so the PNG's text is missing or drawn as
   * boxes. A slim container image with no fonts at all gets this warning.
   * `cjk-font-missing`: the SVG has Chinese text, and no loaded font has Chinese glyphs.
   */
  readonly code: 'font-missing' | 'cjk-font-missing';
  readonly message: string;
}

export interface PngRendering {
  readonly png: Uint8Array;
  readonly widthPx: number;
  readonly heightPx: number;
  readonly warnings: readonly PngWarning[];
}

/** Font settings that decide which glyphs resvg can draw. */
type FontSettings = Pick<PngOptions, 'fontFiles' | 'loadSystemFonts' | 'defaultFontFamily'>;

/**
 * Renders an SVG document to PNG on a white background.
 *
 * @throws TypeError when `scale` is not a positive finite number.
 * @throws Error from resvg when the SVG is not well-formed XML.
 */
export function svgToPng(svg: string, options: PngOptions = {}): PngRendering {
  const scale = options.scale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new TypeError(`PNG scale must be a positive number, got ${scale}`);
  }

  const image = new Resvg(svg, {
    ...resvgFontOptions(options),
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    background: '#FFFFFF',
  }).render();

  // The font-missing message names a package with Chinese glyphs too, so it replaces the CJK warning.
  const locale = options.locale ?? 'en';
  const warnings: PngWarning[] = [];
  if (/<text[\s>]/.test(svg) && !canRenderScript('latin', options)) {
    warnings.push({ code: 'font-missing', message: chartText(locale, 'fontMissing') });
  } else if (HAN_CHARACTER.test(svg) && !canRenderScript('han', options)) {
    warnings.push({ code: 'cjk-font-missing', message: chartText(locale, 'cjkFontMissing') });
  }
  return { png: new Uint8Array(image.asPng()), widthPx: image.width, heightPx: image.height, warnings };
}

const HAN_CHARACTER = /\p{Script=Han}/u;

/** Probe results per font setting, because the installed fonts do not change while the process runs. */
const probeCache = new Map<string, boolean>();

/** Two different characters of each script the charts use. */
const PROBE_CHARACTERS = { latin: ['R', 'a'], han: ['中', '文'] } as const;

/**
 * Returns whether the fonts of these settings draw characters of the script. resvg draws a missing
 * glyph as the font's empty box (or draws nothing when no font is loaded). So the probe draws two
 * different characters in equal cells with the chart font list. Real glyphs leave ink that differs
 * between the cells, while two boxes or two blanks are identical.
 */
export function canRenderScript(script: 'latin' | 'han', settings: FontSettings = {}): boolean {
  const key = JSON.stringify([
    script,
    settings.loadSystemFonts ?? true,
    settings.fontFiles ?? [],
    settings.defaultFontFamily,
  ]);
  const cached = probeCache.get(key);
  if (cached !== undefined) return cached;

  const cellPx = 48;
  const probe = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * cellPx}" height="${cellPx}" font-family="${escapeXml(CHART_FONT_FAMILY)}" font-size="32">`,
    `<text x="8" y="38">${PROBE_CHARACTERS[script][0]}</text>`,
    `<text x="${cellPx + 8}" y="38">${PROBE_CHARACTERS[script][1]}</text>`,
    '</svg>',
  ].join('');
  const rendered = new Resvg(probe, resvgFontOptions(settings)).render();

  // RGBA rows of 2 × cellPx pixels: compare the alpha of each pixel with its twin in the right cell.
  const pixels = rendered.pixels;
  let inked = false;
  let differs = false;
  for (let row = 0; row < cellPx; row++) {
    for (let column = 0; column < cellPx; column++) {
      const left = pixels[(row * 2 * cellPx + column) * 4 + 3]!;
      const right = pixels[(row * 2 * cellPx + column + cellPx) * 4 + 3]!;
      if (left > 0 || right > 0) inked = true;
      if (left !== right) differs = true;
    }
  }
  const result = inked && differs;
  probeCache.set(key, result);
  return result;
}

function resvgFontOptions(settings: FontSettings): ResvgRenderOptions {
  return {
    font: {
      loadSystemFonts: settings.loadSystemFonts ?? true,
      ...(settings.fontFiles === undefined ? {} : { fontFiles: [...settings.fontFiles] }),
      ...(settings.defaultFontFamily === undefined ? {} : { defaultFontFamily: settings.defaultFontFamily }),
    },
  };
}
