/**
 * The two pictures of the app, drawn as inline SVG so that they scale with the page and carry a
 * text alternative: the probability against the threshold, and a forest plot of hazard ratios.
 */

import { featureNameLines } from './feature-name.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with the given attributes. */
function svgElement(name: string, attributes: Readonly<Record<string, string | number>>): SVGElement {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

function svgText(x: number, y: number, text: string, anchor: 'start' | 'middle' | 'end'): SVGElement {
  const element = svgElement('text', { x, y, 'text-anchor': anchor, class: 'chart-text' });
  element.textContent = text;
  return element;
}

/** Creates the root `<svg role="img">` with an accessible name. */
function svgRoot(width: number, height: number, label: string): SVGElement {
  const root = svgElement('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label });
  const title = svgElement('title', {});
  title.textContent = label;
  root.append(title);
  return root;
}

export interface ProbabilityBarInput {
  /** Probability of high NQO1 expression, in [0, 1]. */
  readonly probability: number;
  /** Decision threshold of the model card, in [0, 1]. */
  readonly threshold: number;
  readonly probabilityText: string;
  readonly thresholdText: string;
  readonly thresholdLabel: string;
  readonly label: string;
}

/**
 * Draws a horizontal bar on a 0–1 scale filled up to the probability, with a vertical mark at the
 * threshold. A probability at or above the threshold is drawn in the colour of the high class.
 */
export function probabilityBar(input: ProbabilityBarInput): SVGElement {
  const width = 600;
  const left = 20;
  const barWidth = width - 2 * left;
  const root = svgRoot(width, 86, input.label);
  root.classList.add('probability-bar');

  const probabilityX = left + barWidth * Math.min(1, Math.max(0, input.probability));
  const thresholdX = left + barWidth * Math.min(1, Math.max(0, input.threshold));
  const fillClass = input.probability >= input.threshold ? 'bar-high' : 'bar-low';

  root.append(svgElement('rect', { x: left, y: 30, width: barWidth, height: 24, class: 'bar-track', rx: 3 }));
  root.append(
    svgElement('rect', { x: left, y: 30, width: probabilityX - left, height: 24, class: fillClass, rx: 3 }),
  );
  root.append(
    svgElement('line', { x1: thresholdX, x2: thresholdX, y1: 22, y2: 62, class: 'threshold-mark' }),
  );
  root.append(svgText(thresholdX, 16, `${input.thresholdLabel} ${input.thresholdText}`, 'middle'));
  root.append(svgText(left, 78, '0', 'start'));
  root.append(svgText(left + barWidth, 78, '1', 'end'));
  root.append(svgText(probabilityX, 78, input.probabilityText, 'middle'));
  return root;
}

export interface ContributionBar {
  readonly label: string;
  /** Term coefficient × scaled value, in log-odds. */
  readonly value: number;
}

/**
 * Characters of a label line in the contribution chart: the 260 units left of the longest bar hold
 * about 34 characters of the 14 px chart font.
 */
const LABEL_LINE_CHARACTERS = 34;

/** Height of one label line in the contribution chart, in SVG units. */
const LABEL_LINE_HEIGHT = 16;

/**
 * Draws one horizontal bar per feature from a zero line: to the right for a term that raises the
 * linear predictor, to the left for one that lowers it, scaled to the largest absolute term. A long
 * feature name wraps between its words onto several lines, so it never runs into the bars.
 */
export function contributionChart(bars: readonly ContributionBar[], label: string): SVGElement {
  const width = 600;
  const minRowHeight = 28;
  const zeroX = 420;
  const halfWidth = 150;

  const labelLines: string[][] = [];
  const rowTops: number[] = [];
  let height = 6;
  for (let i = 0; i < bars.length; i++) {
    const lines = featureNameLines(bars[i]!.label, LABEL_LINE_CHARACTERS);
    labelLines.push(lines);
    rowTops.push(height);
    height += Math.max(minRowHeight, lines.length * LABEL_LINE_HEIGHT + 12);
  }
  height += 2;
  const root = svgRoot(width, height, label);
  root.classList.add('contribution-chart');

  let maxAbsolute = 0;
  for (let i = 0; i < bars.length; i++) maxAbsolute = Math.max(maxAbsolute, Math.abs(bars[i]!.value));
  const scale = maxAbsolute === 0 ? 0 : halfWidth / maxAbsolute;

  root.append(svgElement('line', { x1: zeroX, x2: zeroX, y1: 0, y2: height, class: 'axis-line' }));
  for (let i = 0; i < bars.length; i++) {
    const bar = bars[i]!;
    const lines = labelLines[i]!;
    const y = rowTops[i]! + ((lines.length - 1) * LABEL_LINE_HEIGHT) / 2;
    const length = Math.abs(bar.value) * scale;
    const x = bar.value >= 0 ? zeroX : zeroX - length;

    const text = svgElement('text', { x: 0, y: rowTops[i]! + 14, class: 'chart-text feature-label' });
    for (let j = 0; j < lines.length; j++) {
      const line = svgElement('tspan', { x: 0, dy: j === 0 ? 0 : LABEL_LINE_HEIGHT });
      line.textContent = lines[j]!;
      text.append(line);
    }
    root.append(text);
    root.append(
      svgElement('rect', {
        x,
        y,
        width: length,
        height: minRowHeight - 10,
        class: bar.value >= 0 ? 'bar-high' : 'bar-low',
      }),
    );
  }
  return root;
}

export interface ForestRow {
  /** Short row label, such as the number of the estimate in the list beside the plot. */
  readonly label: string;
  readonly value: number;
  readonly lower: number;
  readonly upper: number;
  readonly text: string;
}

/**
 * Draws a forest plot: one row per estimate, a square at the hazard ratio and a line across its
 * confidence interval, on a log scale from 0.5 to 4 with a dashed line at 1 (no effect). An interval
 * end (or estimate) outside the scale is drawn at the scale's end with an arrow pointing beyond it
 * and its true value beside the arrow, so a clamped line is never read as the whole interval.
 */
export function forestPlot(rows: readonly ForestRow[], label: string): SVGElement {
  const width = 600;
  const rowHeight = 36;
  const plotLeft = 60;
  const plotRight = 380;
  const textLeft = 400;
  const height = rows.length * rowHeight + 40;
  const root = svgRoot(width, height, label);
  root.classList.add('forest-plot');

  const ticks = [0.5, 1, 2, 4];
  const logMin = Math.log(ticks[0]!);
  const logMax = Math.log(ticks[ticks.length - 1]!);
  const xOf = (ratio: number): number => {
    const clamped = Math.min(logMax, Math.max(logMin, Math.log(ratio)));
    return plotLeft + ((clamped - logMin) / (logMax - logMin)) * (plotRight - plotLeft);
  };

  const axisY = rows.length * rowHeight + 10;
  root.append(svgElement('line', { x1: xOf(1), x2: xOf(1), y1: 4, y2: axisY, class: 'no-effect-line' }));
  root.append(svgElement('line', { x1: plotLeft, x2: plotRight, y1: axisY, y2: axisY, class: 'axis-line' }));
  for (let i = 0; i < ticks.length; i++) {
    const tick = ticks[i]!;
    root.append(svgText(xOf(tick), axisY + 20, String(tick), 'middle'));
  }

  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const y = i * rowHeight + 22;
    root.append(svgText(0, y + 5, row.label, 'start'));
    root.append(
      svgElement('line', { x1: xOf(row.lower), x2: xOf(row.upper), y1: y, y2: y, class: 'ci-line' }),
    );
    root.append(
      svgElement('rect', { x: xOf(row.value) - 6, y: y - 6, width: 12, height: 12, class: 'estimate' }),
    );
    root.append(svgText(textLeft, y + 5, row.text, 'start'));

    const belowScale = Math.min(row.lower, row.value);
    const aboveScale = Math.max(row.upper, row.value);
    if (Math.log(belowScale) < logMin) root.append(clampMark(plotLeft, y, 'left', belowScale));
    if (Math.log(aboveScale) > logMax) root.append(clampMark(plotRight, y, 'right', aboveScale));
  }
  return root;
}

/** Significant digits of the true value written beside a clamp arrow. */
const CLAMPED_VALUE_DIGITS = 3;

/**
 * Draws an arrowhead at `x` pointing off the scale, and the true value above it: a group with class
 * `clamp-mark` and `data-value`, for styles and tests.
 */
function clampMark(x: number, y: number, side: 'left' | 'right', value: number): SVGElement {
  const group = svgElement('g', { class: 'clamp-mark', 'data-side': side, 'data-value': String(value) });
  const tip = side === 'left' ? x - 8 : x + 8;
  group.append(
    svgElement('polygon', { points: `${tip},${y} ${x},${y - 6} ${x},${y + 6}`, class: 'clamp-arrow' }),
  );
  const label = svgText(x, y - 9, value.toPrecision(CLAMPED_VALUE_DIGITS), side === 'left' ? 'start' : 'end');
  label.classList.add('clamp-value');
  group.append(label);
  return group;
}
