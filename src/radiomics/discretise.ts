/**
 * Gray-level discretisation, as pyradiomics 3.x `imageoperations.getBinEdges` and `binImage` do it.
 *
 * Fixed bin width W: the edges are `lowBound + n·W` with `lowBound = min − (min mod W)` (floor
 * modulo), and a value x falls in bin k when edge[k−1] ≤ x < edge[k]. This equals
 * floor(x/W) − floor(min/W) + 1, so bins count from 0 in intensity, not from the ROI minimum as in
 * IBSI. The edges are computed the way NumPy's `arange` fills them, in float64, so values that sit on
 * an edge land in the same bin as in pyradiomics.
 *
 * Fixed bin count B: the edges are those of `numpy.histogram(values, B)` with the last edge raised by
 * 1, giving floor(B·(x − min)/(max − min)) + 1 up to rounding.
 */

import { Nqo1Error } from '../errors.js';
import type { Roi } from './roi.js';
import type { RadiomicsSettings } from './settings.js';

/**
 * Largest number of gray levels the engine discretises into. Texture matrices grow with the level
 * count (GLCM with its square), and a count above this comes from a bin width far too small for the
 * intensity range, not from a meaningful setting.
 */
export const MAX_GRAY_LEVELS = 10_000;

/** The ROI after discretisation. */
export interface DiscretisedRoi {
  /** Bin number (1-based) of every bounding-box voxel in the ROI, 0 outside the ROI. */
  readonly bins: Int32Array;
  /** Highest occupied bin number (pyradiomics Ng after trimming the top). */
  readonly levelCount: number;
  /** Voxel count per bin number, indexed 0..levelCount (index 0 is always 0). */
  readonly histogram: Float64Array;
}

/**
 * Discretises the ROI intensities with `settings.binCount` when it is set, else with `settings.binWidth`.
 *
 * @throws Nqo1Error ERR_TOO_MANY_GRAY_LEVELS before any allocation when the level count would exceed
 *   {@link MAX_GRAY_LEVELS}.
 * @throws Nqo1Error ERR_SETTINGS_INVALID for a bin width or bin count that is not positive.
 */
export function discretise(roi: Roi, settings: RadiomicsSettings): DiscretisedRoi {
  // One pass over the ROI values: range, and whether every value is an integer.
  const roiValues = roi.roiIntensities;
  let minimum = Infinity;
  let maximum = -Infinity;
  let integral = true;
  for (let index = 0; index < roiValues.length; index++) {
    const value = roiValues[index]!;
    if (value < minimum) minimum = value;
    if (value > maximum) maximum = value;
    if (integral && !Number.isInteger(value)) integral = false;
  }

  const edges =
    settings.binCount === undefined
      ? fixedWidthEdges(minimum, maximum, settings.binWidth)
      : fixedCountEdges(minimum, maximum, settings.binCount);

  // Digitising is monotonic, so the maximum is in the highest occupied bin.
  const levelCount = edges.binOf(maximum);
  const counts = new Int32Array(levelCount + 1);
  const bins = new Int32Array(roi.mask.length);
  const mask = roi.mask;
  // ROI values come in the storage order of the box, so the n-th ROI voxel of the box has the value roiValues[n].
  let next = 0;
  if (integral && maximum - minimum < BIN_TABLE_RANGE) {
    // Integer intensities: the bin of each possible value is looked up instead of searched.
    const table = new Int32Array(maximum - minimum + 1);
    for (let offset = 0; offset < table.length; offset++) table[offset] = edges.binOf(minimum + offset);
    for (let index = 0; index < bins.length; index++) {
      if (mask[index] === 0) continue;
      // Integral values within BIN_TABLE_RANGE: the 32-bit conversion is exact and gives an integer index.
      const bin = table[(roiValues[next++]! - minimum) | 0]!;
      bins[index] = bin;
      counts[bin]!++;
    }
  } else {
    for (let index = 0; index < bins.length; index++) {
      if (mask[index] === 0) continue;
      const bin = edges.binOf(roiValues[next++]!);
      bins[index] = bin;
      counts[bin]!++;
    }
  }

  return { bins, levelCount, histogram: Float64Array.from(counts) };
}

/** Widest integer intensity range, max − min, for which `discretise` builds a lookup table. */
const BIN_TABLE_RANGE = 2 ** 20;

/** A set of bin edges and the digitize rule on them. */
interface BinEdges {
  /** Returns the number of edges ≤ value, which is NumPy's `digitize(value, edges)`. */
  binOf(value: number): number;
}

/** Floor modulo of float64 values, as NumPy's `remainder` computes it. */
function floorMod(dividend: number, divisor: number): number {
  let remainder = dividend % divisor;
  if (remainder !== 0 && remainder < 0 !== divisor < 0) remainder += divisor;
  return remainder;
}

/** Edges `lowBound + n·W` of a fixed bin width, for n = 0 up to the first edge above max + W. */
function fixedWidthEdges(minimum: number, maximum: number, binWidth: number): BinEdges {
  if (!(binWidth > 0) || !Number.isFinite(binWidth)) {
    throw new Nqo1Error('ERR_SETTINGS_INVALID', `binWidth must be a positive number, got ${binWidth}.`);
  }

  const lowBound = minimum - floorMod(minimum, binWidth);
  // NumPy's arange fills element n as start + n·delta, with delta = (start + step) − start.
  const step = lowBound + binWidth - lowBound;
  const edgeCount = Math.ceil((maximum + 2 * binWidth - lowBound) / binWidth);
  const levelEstimate = edgeCount - 1;
  if (levelEstimate > MAX_GRAY_LEVELS) {
    throw new Nqo1Error(
      'ERR_TOO_MANY_GRAY_LEVELS',
      `binWidth ${binWidth} over the intensity range ${minimum} to ${maximum} gives about ${levelEstimate} gray levels, ` +
        `more than the limit of ${MAX_GRAY_LEVELS}. Use a larger binWidth or a binCount.`,
      { details: { binWidth, minimum, maximum, levels: levelEstimate, limit: MAX_GRAY_LEVELS } },
    );
  }

  const edgeAt = (n: number): number => (n === 1 ? lowBound + binWidth : lowBound + n * step);
  return {
    binOf(value: number): number {
      // Start from the arithmetic estimate, then settle on the exact edges.
      let n = Math.max(0, Math.floor((value - lowBound) / step));
      while (n + 1 < edgeCount && edgeAt(n + 1) <= value) n++;
      while (n > 0 && edgeAt(n) > value) n--;
      return n + 1;
    },
  };
}

/** Edges of `numpy.histogram(values, binCount)` with the last edge raised by 1. */
function fixedCountEdges(minimum: number, maximum: number, binCount: number): BinEdges {
  if (!Number.isInteger(binCount) || binCount < 1) {
    throw new Nqo1Error('ERR_SETTINGS_INVALID', `binCount must be a positive integer, got ${binCount}.`);
  }
  if (binCount > MAX_GRAY_LEVELS) {
    throw new Nqo1Error(
      'ERR_TOO_MANY_GRAY_LEVELS',
      `binCount ${binCount} is more than the limit of ${MAX_GRAY_LEVELS} gray levels. Use a smaller binCount.`,
      { details: { binCount, limit: MAX_GRAY_LEVELS } },
    );
  }

  // numpy.histogram widens a zero range to [min − 0.5, max + 0.5] and then calls linspace.
  let first = minimum;
  let last = maximum;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const step = (last - first) / binCount;
  const edges = new Float64Array(binCount + 1);
  for (let n = 0; n < binCount; n++) edges[n] = n * step + first;
  edges[binCount] = last + 1;

  return {
    binOf(value: number): number {
      // Count of edges ≤ value by binary search.
      let low = 0;
      let high = edges.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (edges[middle]! <= value) low = middle + 1;
        else high = middle;
      }
      return low;
    },
  };
}
