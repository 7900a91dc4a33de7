/**
 * Filling of closed planar contours on one slice of a voxel grid with the even-odd rule.
 *
 * Contours are given in continuous voxel coordinates (i, j) of the slice, where voxel (i, j) has its
 * centre at the integer point (i, j). A voxel is set when its centre lies inside an odd number of
 * the slice's contours, so a contour inside another (a hole) stays empty and overlapping contours
 * combine by exclusive or.
 *
 * Edge rule: a centre is inside when a ray from it towards +i crosses the contours an odd number of
 * times. An edge counts as crossed when one end lies at j ≤ y and the other at j > y (half-open in
 * j), and only crossings at i > x count (strict). So a centre exactly on an edge is inside when
 * the interior lies on its +i side, or its +j side for an edge along i: for an axis-aligned
 * rectangle [i0, i1] × [j0, j1] exactly the centres with i0 ≤ i < i1 and j0 ≤ j < j1 are set.
 * Coordinates within {@link SNAP_TOLERANCE_VOXELS} of an integer are snapped to it first, so a
 * vertex meant to lie on a centre is not moved off it by decimal rounding in the file.
 */

/** A point in continuous voxel coordinates of one slice. */
export interface SlicePoint {
  readonly i: number;
  readonly j: number;
}

/** Distance in voxels within which a contour coordinate is snapped to the nearest integer. */
export const SNAP_TOLERANCE_VOXELS = 1e-6;

function snap(value: number): number {
  const nearest = Math.round(value);
  return Math.abs(value - nearest) <= SNAP_TOLERANCE_VOXELS ? nearest : value;
}

/**
 * Sets to 1 the voxels of one slice (`columns` × `rows`, i fastest) whose centres lie inside an odd
 * number of `contours`. Each contour is a closed polygon: its last point connects to its first.
 *
 * @param slice - the slice's voxels, changed in place
 * @returns the number of voxels set
 */
export function fillContoursEvenOdd(
  slice: Uint8Array,
  columns: number,
  rows: number,
  contours: readonly (readonly SlicePoint[])[],
): number {
  const polygons = contours.map((contour) =>
    contour.map((point) => ({ i: snap(point.i), j: snap(point.j) })),
  );

  let minJ = Infinity;
  let maxJ = -Infinity;
  for (const polygon of polygons) {
    for (const point of polygon) {
      minJ = Math.min(minJ, point.j);
      maxJ = Math.max(maxJ, point.j);
    }
  }
  const firstRow = Math.max(0, Math.ceil(minJ));
  const lastRow = Math.min(rows - 1, Math.floor(maxJ));

  let filled = 0;
  const crossings: number[] = [];
  for (let row = firstRow; row <= lastRow; row++) {
    crossings.length = 0;
    for (const polygon of polygons) collectCrossings(polygon, row, crossings);
    crossings.sort((a, b) => a - b);

    // With the half-open rule each closed polygon crosses a row an even number of times, so the
    // sorted crossings pair up: centres i with x[2m] ≤ i < x[2m+1] have an odd count to their right.
    for (let pair = 0; pair + 1 < crossings.length; pair += 2) {
      const start = Math.max(0, Math.ceil(crossings[pair]!));
      const end = Math.min(columns, Math.ceil(crossings[pair + 1]!));
      for (let column = start; column < end; column++) {
        const index = column + columns * row;
        slice[index] = 1;
        filled++;
      }
    }
  }
  return filled;
}

/** Appends the i coordinates where the polygon's edges cross the row j = `row` (half-open in j). */
function collectCrossings(polygon: readonly SlicePoint[], row: number, crossings: number[]): void {
  for (let index = 0; index < polygon.length; index++) {
    const a = polygon[index]!;
    const b = polygon[(index + 1) % polygon.length]!;
    if (a.j > row === b.j > row) continue;
    crossings.push(a.i + ((row - a.j) * (b.i - a.i)) / (b.j - a.j));
  }
}
