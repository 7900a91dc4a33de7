/**
 * The SVG line-chart builder. Pixel positions follow from the fixed plot area, with x from 72 to 616
 * (544 px) and y from 416 up to 48 (368 px). A data point at fraction (fx, fy) of the axis domains
 * therefore lands at (72 + 544·fx, 416 − 368·fy). Coordinates are written with two decimals.
 */
import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';

import {
  CHART_SIZE,
  PLOT_AREA,
  escapeXml,
  lineChartSvg,
  type LineChartSpec,
} from '../../src/plots/svg-chart.js';
import { byClass, findElements, parseXml, pointsOf, textContent } from '../support/xml-tree.js';

const UNIT_AXES = {
  xAxis: { title: 'x', min: 0, max: 1, fixed: true },
  yAxis: { title: 'y', min: 0, max: 1, fixed: true },
} as const;

function chart(spec: Partial<LineChartSpec>): string {
  return lineChartSvg({ title: 'Test chart', ...UNIT_AXES, series: [], ...spec });
}

describe('well-formed output', () => {
  it('parses with the test parser and with resvg', () => {
    const svg = chart({
      series: [
        {
          label: 'a',
          points: [
            { x: 0, y: 0 },
            { x: 1, y: 1 },
          ],
        },
      ],
    });
    const root = parseXml(svg);
    expect(root.name).toBe('svg');
    expect(root.attributes.xmlns).toBe('http://www.w3.org/2000/svg');
    const parsed = new Resvg(svg, { font: { loadSystemFonts: false } });
    expect([parsed.width, parsed.height]).toEqual([640, 480]);
  });

  it('test parser rejects malformed XML', () => {
    expect(() => parseXml('<svg><text>a & b</text></svg>')).toThrow(/stray &/);
    expect(() => parseXml('<svg><text>a < b</text></svg>')).toThrow(/not well-formed/);
    expect(() => parseXml('<svg><g></svg>')).toThrow(/closes <g>/);
    expect(() => parseXml('<svg a="1" a="2"/>')).toThrow(/repeated attribute/);
  });

  it('fixed size, white background, CJK font list', () => {
    const root = parseXml(chart({}));
    expect(root.attributes.width).toBe(String(CHART_SIZE.widthPx));
    expect(root.attributes.height).toBe(String(CHART_SIZE.heightPx));
    expect(root.attributes.viewBox).toBe('0 0 640 480');
    const fontFamily = root.attributes['font-family'] ?? '';
    expect(fontFamily.startsWith("'Noto Sans CJK SC',")).toBe(true);
    expect(fontFamily).toContain("'Noto Sans',");
    expect(fontFamily.endsWith(',sans-serif')).toBe(true);
    const background = findElements(root, (element) => element.name === 'rect')[0];
    expect(background?.attributes).toMatchObject({ width: '640', height: '480', fill: '#FFFFFF' });
  });
});

describe('text escaping', () => {
  it('escapes <&>"\' in titles, labels and notes', () => {
    const nasty = `A<B & "C" > 'D'`;
    const svg = lineChartSvg({
      title: nasty,
      xAxis: { title: `x ${nasty}`, min: 0, max: 1 },
      yAxis: { title: `y ${nasty}`, min: 0, max: 1 },
      series: [{ label: `s ${nasty}`, points: [{ x: 0, y: 0 }] }],
      notes: [`n ${nasty}`],
    });
    expect(svg).toContain('A&lt;B &amp; &quot;C&quot; &gt; &apos;D&apos;');
    expect(svg).not.toContain(nasty);

    const root = parseXml(svg);
    expect(textContent(byClass(root, 'chart-title')[0]!)).toBe(nasty);
    expect(textContent(byClass(root, 'x-axis-title')[0]!)).toBe(`x ${nasty}`);
    expect(textContent(byClass(root, 'y-axis-title')[0]!)).toBe(`y ${nasty}`);
    expect(textContent(byClass(root, 'legend-entry')[0]!)).toBe(`s ${nasty}`);
    expect(textContent(byClass(root, 'legend-note')[0]!)).toBe(`n ${nasty}`);
    expect(byClass(root, 'series')[0]!.attributes['data-label']).toBe(`s ${nasty}`);
    expect(textContent(findElements(root, (element) => element.name === 'title')[0]!)).toBe(nasty);
  });

  it('escapeXml alone', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  });
});

describe('coordinates', () => {
  it('maps a data point into the plot area', () => {
    const svg = lineChartSvg({
      title: 't',
      xAxis: { title: 'x', min: 0, max: 10, fixed: true },
      yAxis: { title: 'y', min: 0, max: 100, fixed: true },
      series: [
        {
          label: 's',
          points: [
            { x: 0, y: 0 },
            { x: 2.5, y: 80 },
            { x: 10, y: 100 },
          ],
        },
      ],
    });
    const vertices = pointsOf(byClass(parseXml(svg), 'series-line')[0]!);
    expect(vertices).toEqual([
      { x: PLOT_AREA.left, y: PLOT_AREA.bottom },
      { x: 208, y: 121.6 },
      { x: PLOT_AREA.right, y: PLOT_AREA.top },
    ]);
  });

  it('draws a step function right-continuously', () => {
    const svg = chart({
      series: [
        {
          label: 's',
          shape: 'step',
          points: [
            { x: 0, y: 1 },
            { x: 0.25, y: 0.5 },
            { x: 0.5, y: 0.25 },
          ],
        },
      ],
    });
    const vertices = pointsOf(byClass(parseXml(svg), 'series-line')[0]!);
    // (0, 1) → (0.25, 1) → (0.25, 0.5) → (0.5, 0.5) → (0.5, 0.25)
    expect(vertices).toEqual([
      { x: 72, y: 48 },
      { x: 208, y: 48 },
      { x: 208, y: 232 },
      { x: 344, y: 232 },
      { x: 344, y: 324 },
    ]);
  });

  it('puts tick labels at nice values', () => {
    const root = parseXml(chart({}));
    expect(byClass(root, 'x-tick').map(textContent)).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
    const y08 = byClass(root, 'y-tick').find((label) => textContent(label) === '0.8');
    // Baseline 4 px below the tick at 416 − 0.8·368 = 121.6.
    expect(y08?.attributes.y).toBe('125.6');
  });

  it('takes the domain from the data when no bounds are given', () => {
    const svg = lineChartSvg({
      title: 't',
      xAxis: { title: 'x' },
      yAxis: { title: 'y' },
      series: [
        {
          label: 's',
          points: [
            { x: 3, y: 0.12 },
            { x: 1790, y: 0.93 },
          ],
        },
      ],
    });
    const root = parseXml(svg);
    expect(byClass(root, 'x-tick').map(textContent)).toEqual(['0', '500', '1000', '1500', '2000']);
    expect(byClass(root, 'y-tick').map(textContent)).toEqual(['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']);
  });
});

describe('series, bands and legend', () => {
  it('one group per series with markers when asked', () => {
    const root = parseXml(
      chart({
        series: [
          {
            label: 'a',
            points: [
              { x: 0, y: 0 },
              { x: 0.5, y: 0.5 },
              { x: 1, y: 1 },
            ],
            markers: true,
          },
          {
            label: 'b',
            points: [
              { x: 0, y: 1 },
              { x: 1, y: 0 },
            ],
            lineStyle: 'dashed',
          },
        ],
      }),
    );
    expect(byClass(root, 'series')).toHaveLength(2);
    expect(byClass(root, 'series-marker')).toHaveLength(3);
    const lines = byClass(root, 'series-line');
    expect(lines[0]!.attributes.stroke).toBe('#0072B2');
    expect(lines[1]!.attributes.stroke).toBe('#D55E00');
    expect(lines[0]!.attributes['stroke-dasharray']).toBeUndefined();
    expect(lines[1]!.attributes['stroke-dasharray']).toBe('7 4');
  });

  it('splits a band at non-finite bounds', () => {
    const root = parseXml(
      chart({
        series: [
          {
            label: 's',
            points: [{ x: 0, y: 0.5 }],
            band: [
              { x: 0, lower: 0.4, upper: 0.6 },
              { x: 0.25, lower: 0.3, upper: 0.7 },
              { x: 0.5, lower: Number.NaN, upper: 0.8 },
              { x: 0.75, lower: 0.2, upper: 0.9 },
              { x: 1, lower: 0.1, upper: 0.95 },
            ],
          },
        ],
      }),
    );
    const polygons = byClass(root, 'series-band');
    expect(polygons).toHaveLength(2);
    // Straight band: upper bound forward, lower bound back.
    expect(pointsOf(polygons[0]!)).toEqual([
      { x: 72, y: 195.2 },
      { x: 208, y: 158.4 },
      { x: 208, y: 305.6 },
      { x: 72, y: 268.8 },
    ]);
    expect(pointsOf(polygons[1]!)).toHaveLength(4);
  });

  it('extends step band to next x', () => {
    const root = parseXml(
      chart({
        series: [
          {
            label: 's',
            shape: 'step',
            points: [{ x: 0, y: 1 }],
            band: [
              { x: 0, lower: 1, upper: 1 },
              { x: 0.5, lower: 0.5, upper: 0.75 },
              { x: 1, lower: Number.NaN, upper: Number.NaN },
            ],
          },
        ],
      }),
    );
    const polygon = pointsOf(byClass(root, 'series-band')[0]!);
    // Upper: (0, 1) (0.5, 1) (0.5, 0.75) (1, 0.75); lower back: (1, 0.5) (0.5, 0.5) (0.5, 1) (0, 1).
    expect(polygon).toEqual([
      { x: 72, y: 48 },
      { x: 344, y: 48 },
      { x: 344, y: 140 },
      { x: 616, y: 140 },
      { x: 616, y: 232 },
      { x: 344, y: 232 },
      { x: 344, y: 48 },
      { x: 72, y: 48 },
    ]);
  });

  it('legend lists labelled series and reference lines, then notes', () => {
    const root = parseXml(
      chart({
        series: [
          { label: 'Model', points: [{ x: 0, y: 0 }] },
          { label: '', points: [{ x: 0, y: 0 }] },
        ],
        referenceLines: [
          { from: { x: 0, y: 0 }, to: { x: 1, y: 1 }, label: 'Chance' },
          { from: { x: 0, y: 0.5 }, to: { x: 1, y: 0.5 } },
        ],
        notes: ['P = 0.010'],
      }),
    );
    expect(byClass(root, 'legend-entry').map(textContent)).toEqual(['Model', 'Chance']);
    expect(byClass(root, 'legend-note').map(textContent)).toEqual(['P = 0.010']);
    const references = byClass(root, 'reference-line');
    expect(references).toHaveLength(2);
    expect(references[0]!.attributes).toMatchObject({ x1: '72', y1: '416', x2: '616', y2: '48' });
    expect(references[0]!.attributes['stroke-dasharray']).toBe('7 4');
  });

  it('legend corner places the box', () => {
    const box = (corner: 'top-left' | 'bottom-right') => {
      const legend = byClass(
        parseXml(chart({ series: [{ label: 'M', points: [] }], legendCorner: corner })),
        'legend',
      )[0]!;
      return findElements(legend, (element) => element.name === 'rect')[0]!.attributes;
    };
    expect(box('top-left')).toMatchObject({ x: '82', y: '58' });
    const bottomRight = box('bottom-right');
    const right = Number(bottomRight.x) + Number(bottomRight.width);
    const bottom = Number(bottomRight.y) + Number(bottomRight.height);
    expect(right).toBeCloseTo(606, 2);
    expect(bottom).toBeCloseTo(406, 2);
  });

  it('clips data to the plot area', () => {
    const root = parseXml(chart({ series: [{ label: 's', points: [{ x: 0, y: 0 }] }] }));
    const clip = findElements(root, (element) => element.name === 'clipPath')[0]!;
    expect(clip.attributes.id).toBe('plot-area');
    const clipped = findElements(root, (element) => element.attributes['clip-path'] === 'url(#plot-area)');
    expect(clipped).toHaveLength(1);
    expect(byClass(clipped[0]!, 'series-line')).toHaveLength(1);
  });
});

describe('invalid input', () => {
  it('rejects a non-finite point', () => {
    expect(() => chart({ series: [{ label: 'AUC', points: [{ x: 0.5, y: Number.NaN }] }] })).toThrow(
      'series "AUC" has a non-finite point (0.5, NaN)',
    );
  });

  it('rejects a non-finite reference line', () => {
    expect(() =>
      chart({ referenceLines: [{ from: { x: 0, y: 0 }, to: { x: Number.POSITIVE_INFINITY, y: 1 } }] }),
    ).toThrow(TypeError);
  });
});
