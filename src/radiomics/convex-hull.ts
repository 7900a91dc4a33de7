/**
 * Extreme points of a planar set of integer points: Andrew's monotone chain.
 *
 * Coordinates are integers (here: doubled voxel coordinates), so every orientation test is exact.
 * Points on a hull edge between two corners are not extreme and are dropped, as are duplicates.
 */

/**
 * Returns the indices (into `u`/`v`) of the extreme points among `members`, in counter-clockwise hull
 * order.
 *
 * @param u first coordinate of every point (integer-valued).
 * @param v second coordinate of every point (integer-valued).
 * @param members indices of the points of this set, sorted by u, then v, without duplicates.
 * @param hull scratch array of at least `members.length + 1` entries; the result is its first entries.
 * @returns the number of extreme points written to `hull`.
 */
export function convexHull2d(u: Int32Array, v: Int32Array, members: Int32Array, hull: Int32Array): number {
  const n = members.length;
  if (n <= 2) {
    hull.set(members);
    return n === 2 && u[members[0]!] === u[members[1]!] && v[members[0]!] === v[members[1]!] ? 1 : n;
  }

  // z-component of (b − a) × (c − a); > 0 for a left turn.
  const turn = (a: number, b: number, c: number): number =>
    (u[b]! - u[a]!) * (v[c]! - v[a]!) - (v[b]! - v[a]!) * (u[c]! - u[a]!);

  let size = 0;
  // Lower chain, left to right.
  for (let index = 0; index < n; index++) {
    const point = members[index]!;
    while (size >= 2 && turn(hull[size - 2]!, hull[size - 1]!, point) <= 0) size--;
    hull[size++] = point;
  }
  // Upper chain, right to left.
  const lowerSize = size + 1;
  for (let index = n - 2; index >= 0; index--) {
    const point = members[index]!;
    while (size >= lowerSize && turn(hull[size - 2]!, hull[size - 1]!, point) <= 0) size--;
    hull[size++] = point;
  }
  // The last point repeats the first.
  size--;
  // All points coincide or lie on one line: the chain holds the two ends (or one point).
  if (size === 2 && u[hull[0]!] === u[hull[1]!] && v[hull[0]!] === v[hull[1]!]) size = 1;
  return size;
}
