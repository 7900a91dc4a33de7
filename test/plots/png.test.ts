/**
 * PNG rendering with resvg. The PNG bytes are decoded here (IHDR, IDAT inflate, row filters), so
 * size and pixels are checked on the file as written, not on resvg's own pixel buffer.
 */
import { existsSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { canRenderScript, svgToPng } from '../../src/plots/png.js';
import { rocChart } from '../../src/plots/roc-chart.js';
import { PNG_SIGNATURE, countNonWhitePixels, decodePng, readPngSize } from '../support/png-pixels.js';

const ROC_DATA = {
  points: [
    { specificity: 0.9, sensitivity: 0.55 },
    { specificity: 0.75, sensitivity: 0.8 },
  ],
  auc: 0.81,
  ci: { lower: 0.74, upper: 0.88 },
};

/** CJK fonts of Debian packages, the first one present is used: fonts-noto-cjk, fonts-wqy-*, fonts-droid-fallback. */
const CJK_FONT_CANDIDATES = [
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
  '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
  '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf',
];
/** A Latin-only font (fonts-dejavu-core). resvg draws its box glyph for each Chinese character. */
const LATIN_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

function installedCjkFont(): string {
  const font = CJK_FONT_CANDIDATES.find((path) => existsSync(path));
  if (font === undefined) {
    throw new Error(`no CJK font found at ${CJK_FONT_CANDIDATES.join(', ')}; install fonts-wqy-microhei`);
  }
  return font;
}

/** Chart title band: the text row above the plot area, 30 px baseline. */
const TITLE_REGION = { left: 150, top: 8, right: 490, bottom: 40 };

describe('svgToPng', () => {
  it('writes a 640 × 480 RGBA PNG', () => {
    const { png, widthPx, heightPx, warnings } = svgToPng(rocChart(ROC_DATA, 'en'));
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(readPngSize(png)).toEqual({ width: 640, height: 480, bitDepth: 8, colourType: 6 });
    expect([widthPx, heightPx]).toEqual([640, 480]);
    expect(warnings).toEqual([]);
  });

  it('scale 2 doubles the pixel size', () => {
    const { png } = svgToPng(rocChart(ROC_DATA, 'en'), { scale: 2 });
    expect(readPngSize(png)).toMatchObject({ width: 1280, height: 960 });
  });

  it('draws the curve where the SVG puts it', () => {
    const image = decodePng(svgToPng(rocChart(ROC_DATA, 'en')).png);
    expect(countNonWhitePixels(image)).toBeGreaterThan(5000);
    // Corner outside every element stays white.
    expect([...image.rgba.subarray(0, 4)]).toEqual([255, 255, 255, 255]);
    // The ROC point (0.25, 0.8) at pixel (208, 121.6) lies on the 2 px blue (#0072B2) line.
    const offset = (121 * 640 + 208) * 4;
    const [red, green, blue] = [image.rgba[offset]!, image.rgba[offset + 1]!, image.rgba[offset + 2]!];
    expect(blue).toBeGreaterThan(150);
    expect(red).toBeLessThan(100);
    expect(green).toBeLessThan(blue);
  });

  it('renders Chinese text with a CJK font', () => {
    const withFont = svgToPng(rocChart(ROC_DATA, 'zh-CN'), {
      loadSystemFonts: false,
      fontFiles: [LATIN_FONT, installedCjkFont()],
    });
    expect(withFont.warnings).toEqual([]);
    // "ROC 曲线" leaves ink in the title band.
    expect(countNonWhitePixels(decodePng(withFont.png), TITLE_REGION)).toBeGreaterThan(150);
  });

  it('system fonts render Chinese text', () => {
    // CI installs a CJK font package; without one this fails, as a missing service does.
    expect(svgToPng(rocChart(ROC_DATA, 'zh-CN')).warnings).toEqual([]);
  });

  it('warns but renders without Chinese glyphs', () => {
    const { png, warnings } = svgToPng(rocChart(ROC_DATA, 'zh-CN'), {
      loadSystemFonts: false,
      fontFiles: [LATIN_FONT],
      locale: 'zh-CN',
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.code).toBe('cjk-font-missing');
    expect(warnings[0]!.message).toContain('fonts-wqy-microhei');
    expect(warnings[0]!.message).toContain('系统中没有含中文字符的字体');
    const image = decodePng(png);
    expect([image.width, image.height]).toEqual([640, 480]);
    // "ROC" and the box glyphs still leave ink in the title band.
    expect(countNonWhitePixels(image, TITLE_REGION)).toBeGreaterThan(50);
  });

  it('warns but renders without any font', () => {
    const { png, warnings } = svgToPng(rocChart(ROC_DATA, 'zh-CN'), { loadSystemFonts: false });
    expect(warnings.map((warning) => warning.code)).toEqual(['font-missing']);
    expect(warnings[0]!.message).toContain('No installed font has Latin letters');
    const image = decodePng(png);
    // Lines are drawn, but the title band stays blank.
    expect(countNonWhitePixels(image)).toBeGreaterThan(3000);
    expect(countNonWhitePixels(image, TITLE_REGION)).toBe(0);
  });

  it('English chart needs no CJK font', () => {
    expect(
      svgToPng(rocChart(ROC_DATA, 'en'), { loadSystemFonts: false, fontFiles: [LATIN_FONT] }).warnings,
    ).toEqual([]);
    expect(svgToPng(rocChart(ROC_DATA, 'en'), { loadSystemFonts: false }).warnings[0]?.code).toBe(
      'font-missing',
    );
  });

  it('defaultFontFamily sets the fallback font', () => {
    // Both fonts come with fonts-dejavu-core, which .ci/run installs.
    const serif = '/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf';
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30"><text x="4" y="22" font-size="18" font-family="NoSuchFont">Sample</text></svg>';
    const render = (defaultFontFamily: string) =>
      svgToPng(svg, { loadSystemFonts: false, fontFiles: [LATIN_FONT, serif], defaultFontFamily }).png;
    expect(Buffer.from(render('DejaVu Sans')).equals(Buffer.from(render('DejaVu Sans')))).toBe(true);
    expect(Buffer.from(render('DejaVu Sans')).equals(Buffer.from(render('DejaVu Serif')))).toBe(false);
  });

  it('rejects a zero scale', () => {
    expect(() => svgToPng(rocChart(ROC_DATA, 'en'), { scale: 0 })).toThrow(TypeError);
  });

  it('throws on malformed SVG', () => {
    expect(() => svgToPng('<svg xmlns="http://www.w3.org/2000/svg"><g></svg>')).toThrow();
  });
});

describe('canRenderScript', () => {
  it('Latin: false without fonts, true with one', () => {
    expect(canRenderScript('latin', { loadSystemFonts: false })).toBe(false);
    expect(canRenderScript('latin', { loadSystemFonts: false, fontFiles: [LATIN_FONT] })).toBe(true);
  });

  it('Han: false without fonts', () => {
    expect(canRenderScript('han', { loadSystemFonts: false })).toBe(false);
  });

  it('Han: false with a Latin-only font, whose box glyphs look alike', () => {
    expect(existsSync(LATIN_FONT), `${LATIN_FONT} (fonts-dejavu-core) is missing`).toBe(true);
    expect(canRenderScript('han', { loadSystemFonts: false, fontFiles: [LATIN_FONT] })).toBe(false);
  });

  it('Han: true with a CJK font', () => {
    expect(
      canRenderScript('han', { loadSystemFonts: false, fontFiles: [LATIN_FONT, installedCjkFont()] }),
    ).toBe(true);
  });
});
