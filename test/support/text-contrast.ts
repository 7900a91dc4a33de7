/**
 * Checks the contrast of the text on a page against WCAG 2.1 success criterion 1.4.3 (contrast,
 * minimum): at least 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold). It runs in the page.
 * Each element with its own visible text is compared with the first opaque background colour among
 * it and its ancestors, white when none has one.
 *
 * NOTE: text inside SVG (chart labels) is drawn with `fill`, not `color`, so it is left out. So are
 * background images and semi-transparent colours, whose blend the check does not compute.
 *
 * @see https://www.w3.org/TR/WCAG21/#contrast-minimum
 * @see https://www.w3.org/TR/WCAG21/#dfn-relative-luminance
 */
import type { Page } from 'playwright-core';

/** One text element below its required contrast. */
export interface ContrastFailure {
  readonly text: string;
  readonly ratio: number;
  readonly required: number;
  readonly color: string;
  readonly background: string;
}

/** Returns the text elements under `rootSelector` whose contrast is below the WCAG AA minimum. */
export async function textContrastFailures(page: Page, rootSelector = 'body'): Promise<ContrastFailure[]> {
  return page.evaluate((selector) => {
    /** Parses `rgb(r, g, b)` or `rgba(r, g, b, a)` as computed styles give them. */
    function channels(value: string): [number, number, number, number] | undefined {
      const match = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(value);
      if (match === null) return undefined;
      return [
        Number(match[1]),
        Number(match[2]),
        Number(match[3]),
        match[4] === undefined ? 1 : Number(match[4]),
      ];
    }

    /** Relative luminance: 0.2126 R + 0.7152 G + 0.0722 B of the linearised sRGB channels. */
    function luminance([r, g, b]: readonly number[]): number {
      const linear = [r!, g!, b!].map((channel) => {
        const c = channel / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * linear[0]! + 0.7152 * linear[1]! + 0.0722 * linear[2]!;
    }

    function backgroundOf(start: Element): string {
      for (let node: Element | null = start; node !== null; node = node.parentElement) {
        const colour = channels(getComputedStyle(node).backgroundColor);
        if (colour !== undefined && colour[3] === 1) return getComputedStyle(node).backgroundColor;
      }
      return 'rgb(255, 255, 255)';
    }

    const failures: ContrastFailure[] = [];
    const root = document.querySelector(selector);
    if (root === null) throw new Error(`no element matches ${selector}`);
    const elements: Element[] = [root, ...Array.from(root.querySelectorAll('*'))];
    for (const element of elements) {
      if (element.closest('svg') !== null) continue;
      const ownText = Array.from(element.childNodes)
        .filter((node) => node.nodeType === Node.TEXT_NODE)
        .map((node) => node.textContent ?? '')
        .join('')
        .trim();
      if (ownText === '') continue;
      const style = getComputedStyle(element);
      const box = element.getBoundingClientRect();
      if (style.visibility === 'hidden' || style.display === 'none' || box.width === 0 || box.height === 0)
        continue;

      const foreground = channels(style.color);
      const background = backgroundOf(element);
      const backgroundChannels = channels(background);
      if (foreground === undefined || backgroundChannels === undefined) continue;
      const [lighter, darker] = [luminance(foreground), luminance(backgroundChannels)].sort((a, b) => b - a);
      const ratio = (lighter! + 0.05) / (darker! + 0.05);
      const sizePx = Number.parseFloat(style.fontSize);
      const bold = Number(style.fontWeight) >= 700;
      const required = sizePx >= 24 || (bold && sizePx >= 18.66) ? 3 : 4.5;
      if (ratio < required) {
        failures.push({ text: ownText.slice(0, 60), ratio, required, color: style.color, background });
      }
    }
    return failures;
  }, rootSelector);
}
