/**
 * Run counting for the GLRLM (glrlm.ts): the count H(g, r) of ROI voxels of gray-level row g whose
 * running length along a direction is r, from one pass over the ROI per direction in storage order.
 *
 * Running length: for the positive flat step s of a direction (of the offset or of its opposite; a
 * run along one is a run along the other), the running length of voxel v is L(v) = 1 + L(v − s) when
 * v − s has the same gray level, else 1. A run of length n contains one voxel of each running length
 * 1..n, so H(g, r) is the number of runs of row g with length ≥ r, and the run counts are
 * P(g, r) = H(g, r) − H(g, r + 1).
 *
 * Layout: the box is copied once, padded by at least one empty voxel on every side (the row length
 * rounded up to a multiple of 4), each voxel holding its gray-level row g = position among the
 * occupied levels + 1, or 0 outside the ROI. Since v − s lies in the padded row (s within a slice)
 * or slice (s across slices) just before that of v, L is kept for two rows or two slices only. Along
 * i it is a local variable.
 *
 * Word path: with fewer than 256 rows and runs of at most 255 voxels, g and L fit in one byte, and
 * four voxels are handled at once as the bytes of a 32-bit word. For words a (rows at v) and b (rows
 * at v − s), a byte of a ^ b is zero exactly where the levels agree; with the byte masks N(a) (row
 * ≠ 0) and E = N(a) ∧ (a ^ b = 0), the running lengths are L = ((L(v − s) ∧ E) + 1) ∧ N(a), byte by
 * byte, without carries because no byte exceeds 255. Each byte then adds 1 to H at (g, L), cell
 * g · 256 + L. The three directions whose steps differ by ±1 (i component −1, 0, +1) share one pass
 * over the words at v. Otherwise, and always along i, each voxel is handled on its own in the same
 * order. H is counted in Int32.
 */

import type { Offset } from './angles.js';
import type { RoiRows } from './roi-rows.js';

/** Gray-level rows of the padded box, the ROI part of each box row, and the layout of H. */
export interface RunBox {
  /** Row g per padded voxel, 0 outside the ROI and in the padding. */
  readonly cells: Uint8Array | Uint16Array | Int32Array;
  /** Voxel counts of the padded box along i, j and k; the count along i is a multiple of 4. */
  readonly paddedSize: readonly [number, number, number];
  /** Flat index of the first ROI voxel of each box row (j fastest, then k). */
  readonly first: Int32Array;
  /** Flat index one past the last ROI voxel of each box row; equal to `first` for an empty row. */
  readonly end: Int32Array;
  /** Number of rows g: the occupied levels + 1. */
  readonly rows: number;
  /** Cells of H per row g: `counts[g · columns + r]` is H(g, r); row 0 and column 0 are junk. */
  readonly columns: number;
  /** True when the word path applies. */
  readonly wordPath: boolean;
}

const LOW_SEVEN = 0x7f7f7f7f;
const HIGH_BITS = 0x80808080 | 0;
const ONES = 0x01010101;
const EVEN_BYTES = 0x00ff00ff;
const ODD_BYTES = 0xff00ff00 | 0;

/**
 * Copies `bins` (box of `size`, i fastest) into the padded box, replacing each bin number b by
 * positionOf[b] + 1, over the ROI part of each row (`rows`).
 */
export function runBox(
  bins: Int32Array,
  size: readonly [number, number, number],
  rows: RoiRows,
  positionOf: Int32Array,
  occupiedCount: number,
  maxRunLength: number,
): RunBox {
  const [sx, sy, sz] = size;
  const px = (sx + 5) & ~3;
  const py = sy + 2;
  const length = px * py * (sz + 2);
  const wordPath = occupiedCount < 2 ** 8 && maxRunLength < 2 ** 8;
  const cells =
    occupiedCount < 2 ** 8
      ? new Uint8Array(length)
      : occupiedCount < 2 ** 16
        ? new Uint16Array(length)
        : new Int32Array(length);
  const rowOf = new Int32Array(positionOf.length);
  for (let bin = 1; bin < positionOf.length; bin++) rowOf[bin] = positionOf[bin]! + 1;
  const first = new Int32Array(sy * sz);
  const end = new Int32Array(sy * sz);

  let row = 0;
  for (let k = 1; k <= sz; k++) {
    for (let j = 1; j <= sy; j++, row++) {
      const rowStart = 1 + px * (j + py * k);
      first[row] = rowStart + rows.lower[row]!;
      end[row] = rowStart + rows.upper[row]!;
    }
  }
  copyRows(bins, rowOf, cells, first, end, sx, sy, px, py);
  const columns = wordPath ? 2 ** 8 : maxRunLength + 1;
  return { cells, paddedSize: [px, py, sz + 2], first, end, rows: occupiedCount + 1, columns, wordPath };
}

/** Writes rowOf[bin] into `cells` over the ROI part of each row; the rest stays 0. */
function copyRows(
  bins: Int32Array,
  rowOf: Int32Array,
  cells: Uint8Array | Uint16Array | Int32Array,
  first: Int32Array,
  end: Int32Array,
  sx: number,
  sy: number,
  px: number,
  py: number,
): void {
  for (let row = 0; row < first.length; row++) {
    const j = 1 + (row % sy);
    const k = 1 + Math.floor(row / sy);
    const shift = 1 + px * (j + py * k) - sx * row;
    const rowEnd = end[row]!;
    for (let voxel = first[row]!; voxel < rowEnd; voxel++) cells[voxel] = rowOf[bins[voxel - shift]!]!;
  }
}

/**
 * Counts H(g, r) along each of `offsets`: `result[d][g · columns + r]` (layout of
 * {@link RunBox.columns}) for offset d. On the word path the three offsets that differ only in
 * their i component share one pass, which reads the rows at v once for all three.
 */
export function countRunningLengths(box: RunBox, offsets: readonly Offset[]): Int32Array[] {
  const [px, py] = box.paddedSize;
  const newRing = (): Int32Array => new Int32Array(box.wordPath ? (2 * px * py) / 4 + 2 : 2 * px * py);
  const rings = [newRing(), newRing(), newRing()];
  const result = offsets.map(() => new Int32Array(box.rows * box.columns));

  // Positive flat steps, and the unit (padded row or slice) that v − step falls in; 0 along i.
  const steps = offsets.map(([di, dj, dk]) => Math.abs(di + px * (dj + py * dk)));
  const units = offsets.map(([, dj, dk]) => unitOf(dj, dk, px, py));
  const counted = offsets.map(() => false);

  // Triples first: the centre offset (i component 0) with both of its i neighbours.
  steps.forEach((step, d) => {
    const below = steps.indexOf(step - 1);
    const above = steps.indexOf(step + 1);
    if (!box.wordPath || units[d] === 0 || step % 4 !== 0 || below < 0 || above < 0) return;
    countWordTriple(box, units[d]!, step, [result[below]!, result[d]!, result[above]!], rings);
    counted[below] = counted[d] = counted[above] = true;
  });
  steps.forEach((step, d) => {
    if (counted[d]) return;
    if (units[d] === 0) countAlongI(box, result[d]!);
    else if (box.wordPath) countWords(box, units[d]!, step, result[d]!, rings[0]!);
    else countVoxels(box, units[d]!, step, result[d]!, rings[0]!);
  });
  return result;
}

/**
 * True when some row g ≥ 1 of `counts` has H(g, 2) > 0: two adjacent ROI voxels of one level, hence
 * a line with two ROI voxels.
 */
export function hasRunOfTwo(box: RunBox, counts: Int32Array): boolean {
  if (box.columns < 3) return false;
  for (let index = box.columns + 2; index < counts.length; index += box.columns) {
    if (counts[index]! > 0) return true;
  }
  return false;
}

/** Returns the unit that v − step falls in: the padded slice or row before v, or 0 along i. */
function unitOf(dj: number, dk: number, px: number, py: number): number {
  if (dk !== 0) return px * py;
  if (dj !== 0) return px;
  return 0;
}

/** Running lengths along i, kept in a local per row. Non-ROI voxels inside a row span go to row 0. */
function countAlongI(box: RunBox, counts: Int32Array): void {
  const { cells, first, end, columns } = box;
  for (let row = 0; row < first.length; row++) {
    const rowEnd = end[row]!;
    let previous = 0;
    let length = 0;
    for (let voxel = first[row]!; voxel < rowEnd; voxel++) {
      const cell = cells[voxel]!;
      length = 1 + +(cell === previous) * length;
      counts[cell * columns + length]!++;
      previous = cell;
    }
  }
}

/**
 * Returns the shift that maps the flat index of a voxel in unit u (padded row or slice number) to
 * its half of the two-unit ring: (u mod 2) · unit − u · unit.
 */
function ringShift(
  row: number,
  rowsPerSlice: number,
  px: number,
  py: number,
  unit: number,
  back: number,
): number {
  const j = 1 + (row % rowsPerSlice);
  const k = 1 + Math.floor(row / rowsPerSlice);
  const u = (unit === px ? j + py * k : k) - back;
  return (u & 1) * unit - u * unit;
}

/** Voxel-by-voxel running lengths along a step that crosses into the previous unit. */
function countVoxels(box: RunBox, unit: number, step: number, counts: Int32Array, ring: Int32Array): void {
  const { cells, first, end, columns } = box;
  const [px, py] = box.paddedSize;

  for (let row = 0; row < first.length; row++) {
    const rowEnd = end[row]!;
    const rowStart = first[row]!;
    if (rowStart >= rowEnd) continue;
    const currentShift = ringShift(row, py - 2, px, py, unit, 0);
    const previousShift = ringShift(row, py - 2, px, py, unit, 1) - step;

    for (let voxel = rowStart; voxel < rowEnd; voxel++) {
      const cell = cells[voxel]!;
      if (cell === 0) continue;
      const previous = cells[voxel - step]!;
      const length = 1 + +(previous === cell) * ring[voxel + previousShift]!;
      ring[voxel + currentShift] = length;
      counts[cell * columns + length]!++;
    }
  }
}

/** High bit of each byte of `word` that is not zero. */
function nonZeroBytes(word: number): number {
  return (((word & LOW_SEVEN) + LOW_SEVEN) | word) & HIGH_BITS;
}

/**
 * Counts H on the word path, four voxels per step. The ring stores the byte lengths of two units as
 * words between two guard words. An unaligned read at a unit edge may touch a guard word or the other
 * half, but only for bytes of padding voxels, whose lengths are masked out.
 */
function countWords(box: RunBox, unit: number, step: number, counts: Int32Array, ring: Int32Array): void {
  const { first, end } = box;
  const words = new Int32Array(box.cells.buffer, box.cells.byteOffset, box.cells.length / 4);
  const [px, py] = box.paddedSize;

  // Bytes at v − s for a word-aligned v: (word[low] >>> lowShift) | (word[low + 1] << highShift).
  const misalignment = (4 - (step & 3)) & 3;
  const wordsBack = (step + misalignment) >> 2;
  const lowShift = 8 * misalignment;
  const highShift = 32 - lowShift;
  const highMask = misalignment === 0 ? 0 : -1;

  for (let row = 0; row < first.length; row++) {
    const rowEnd = end[row]!;
    const rowStart = first[row]!;
    if (rowStart >= rowEnd) continue;
    const currentShift = 1 + (ringShift(row, py - 2, px, py, unit, 0) >> 2);
    const previousShift = 1 + (ringShift(row, py - 2, px, py, unit, 1) >> 2) - wordsBack;
    const wordEnd = (rowEnd + 3) >> 2;

    for (let word = rowStart >> 2; word < wordEnd; word++) {
      const a = words[word]!;
      const b =
        (words[word - wordsBack]! >>> lowShift) | ((words[word - wordsBack + 1]! << highShift) & highMask);
      const before =
        (ring[word + previousShift]! >>> lowShift) |
        ((ring[word + previousShift + 1]! << highShift) & highMask);

      const inRoi = nonZeroBytes(a);
      const same = ~nonZeroBytes(a ^ b) & inRoi;
      const lengths = ((before & Math.imul(same >>> 7, 0xff)) + ONES) & Math.imul(inRoi >>> 7, 0xff);
      ring[word + currentShift] = lengths;

      // Keys g · 256 + L of bytes 0 and 2, then of bytes 1 and 3.
      const even = ((a & EVEN_BYTES) << 8) | (lengths & EVEN_BYTES);
      const odd = (a & ODD_BYTES) | ((lengths >>> 8) & EVEN_BYTES);
      counts[even & 0xffff]!++;
      counts[odd & 0xffff]!++;
      counts[even >>> 16]!++;
      counts[odd >>> 16]!++;
    }
  }
}

/**
 * Counts H on the word path for the steps `centre` − 1, `centre` and `centre` + 1 in one pass.
 * `centre` is a multiple of 4, so these are the offsets with i component −1, 0 and +1 and the same
 * j and k components. `counts` and `rings` follow that order.
 */
function countWordTriple(
  box: RunBox,
  unit: number,
  centre: number,
  counts: readonly [Int32Array, Int32Array, Int32Array],
  rings: readonly Int32Array[],
): void {
  const { first, end } = box;
  const words = new Int32Array(box.cells.buffer, box.cells.byteOffset, box.cells.length / 4);
  const [px, py] = box.paddedSize;
  const [countsBelow, countsCentre, countsAbove] = counts;
  const ringBelow = rings[0]!;
  const ringCentre = rings[1]!;
  const ringAbove = rings[2]!;
  const wordsBack = centre >> 2;

  for (let row = 0; row < first.length; row++) {
    const rowEnd = end[row]!;
    const rowStart = first[row]!;
    if (rowStart >= rowEnd) continue;
    const currentShift = 1 + (ringShift(row, py - 2, px, py, unit, 0) >> 2);
    const previousShift = 1 + (ringShift(row, py - 2, px, py, unit, 1) >> 2) - wordsBack;
    const wordEnd = (rowEnd + 3) >> 2;

    for (let word = rowStart >> 2; word < wordEnd; word++) {
      const a = words[word]!;
      const inRoi = nonZeroBytes(a);
      const roiBytes = Math.imul(inRoi >>> 7, 0xff);
      const evenRows = (a & EVEN_BYTES) << 8;
      const oddRows = a & ODD_BYTES;
      const early = words[word - wordsBack - 1]!;
      const middle = words[word - wordsBack]!;
      const late = words[word - wordsBack + 1]!;
      const previous = word + previousShift;

      // Step centre − 1: the bytes from v − centre + 1.
      const belowSame = ~nonZeroBytes(a ^ ((middle >>> 8) | (late << 24))) & inRoi;
      const belowBefore = (ringBelow[previous]! >>> 8) | (ringBelow[previous + 1]! << 24);
      const belowLengths = ((belowBefore & Math.imul(belowSame >>> 7, 0xff)) + ONES) & roiBytes;
      ringBelow[word + currentShift] = belowLengths;
      addKeys(countsBelow, evenRows, oddRows, belowLengths);

      // Step centre: the bytes from v − centre, aligned.
      const centreSame = ~nonZeroBytes(a ^ middle) & inRoi;
      const centreLengths = ((ringCentre[previous]! & Math.imul(centreSame >>> 7, 0xff)) + ONES) & roiBytes;
      ringCentre[word + currentShift] = centreLengths;
      addKeys(countsCentre, evenRows, oddRows, centreLengths);

      // Step centre + 1: the bytes from v − centre − 1.
      const aboveSame = ~nonZeroBytes(a ^ ((early >>> 24) | (middle << 8))) & inRoi;
      const aboveBefore = (ringAbove[previous - 1]! >>> 24) | (ringAbove[previous]! << 8);
      const aboveLengths = ((aboveBefore & Math.imul(aboveSame >>> 7, 0xff)) + ONES) & roiBytes;
      ringAbove[word + currentShift] = aboveLengths;
      addKeys(countsAbove, evenRows, oddRows, aboveLengths);
    }
  }
}

/** Adds 1 to H at the keys g · 256 + L of the four bytes; `evenRows` and `oddRows` hold g in place. */
function addKeys(counts: Int32Array, evenRows: number, oddRows: number, lengths: number): void {
  const even = evenRows | (lengths & EVEN_BYTES);
  const odd = oddRows | ((lengths >>> 8) & EVEN_BYTES);
  counts[even & 0xffff]!++;
  counts[odd & 0xffff]!++;
  counts[even >>> 16]!++;
  counts[odd >>> 16]!++;
}
