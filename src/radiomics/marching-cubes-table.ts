/**
 * Marching-cubes triangle table for a binary mask, generated at load time from the cube geometry.
 *
 * Cube corners are numbered `c = x + 2y + 4z` with x, y, z ∈ {0, 1} in voxel units. A cell's case
 * index has bit c set when corner c lies in the mask. The isosurface crosses every cube edge whose two
 * corners differ, at the edge midpoint (the mask is binary, so the 0.5 level sits halfway).
 *
 * The table covers the 128 cases in which corner 6 (x = 0, y = 1, z = 1) is outside. A case with
 * corner 6 inside is looked up as its complement, and its triangles count with the opposite
 * orientation. This is the half-size table that pyradiomics uses (its corner 7 in (z, y, x) order is
 * our corner 6), and the choice of half decides how ambiguous faces are resolved. Two neighbouring
 * cells may resolve their shared face differently, so the mesh can have small gaps there.
 *
 * Construction of one case:
 * 1. Face segments. On each of the 6 faces, the crossed edges are joined in pairs. A face with two
 *    crossed edges gets one segment. A face whose inside corners sit on a diagonal has four crossed
 *    edges; it gets two segments, each cutting off one inside corner. Inside corners are thus never
 *    joined across a face.
 * 2. Orientation. Each segment is directed so that, seen from outside the cube, inside corners lie to
 *    its right. Chained, the segments then form loops whose right-hand normal points out of the mask.
 * 3. Loops. Every crossed edge starts exactly one segment and ends one, so following the segments
 *    gives closed loops of 3 to 7 edge midpoints.
 * 4. Triangulation. A loop of n points becomes n − 2 triangles. Loops of 5 to 7 points are often not
 *    planar, so the area depends on the choice of diagonals. pyradiomics uses the classic hand-made
 *    table, and these two rules reproduce it. While writing them I compared the area, signed volume
 *    and area vector of every case with that table, at unit and at 0.78 × 0.78 × 6.5 mm spacing (the
 *    script is not kept, because it needs their table). The baseline tests check the result.
 *    - up to 6 points: the triangulation with the largest total area in the unit cube (ties are
 *      mirror images with equal area and volume);
 *    - 7 points: a fan from the one loop point that a mirror symmetry of the case maps onto itself.
 *      Every 7-point loop is mirror-symmetric. A symmetric closed curve meets the mirror plane twice,
 *      once at a loop point and once halfway along the opposite loop side, so that point is unique.
 */

/** The two corners of each of the 12 cube edges, as corner numbers `x + 2y + 4z`. */
export const EDGE_CORNERS: readonly (readonly [number, number])[] = buildEdges();

/** Midpoint of each edge in voxel units relative to corner 0, as [x, y, z]. */
export const EDGE_MIDPOINTS: readonly (readonly [number, number, number])[] = EDGE_CORNERS.map(([a, b]) => [
  ((a & 1) + (b & 1)) / 2,
  (((a >> 1) & 1) + ((b >> 1) & 1)) / 2,
  (((a >> 2) & 1) + ((b >> 2) & 1)) / 2,
]);

/** The corner whose presence makes a case be looked up as its complement. */
export const COMPLEMENT_CORNER = 6;

/** Maximum number of triangles in one case. */
export const MAX_TRIANGLES = 5;

/**
 * Triangles per case: `TRIANGLE_EDGES[case * 15 + 3t + v]` is the edge of vertex v of triangle t,
 * −1 after the last triangle. Cases with corner 6 inside are left empty. Triangles are ordered so that (b − a) × (c − a) points out of the mask.
 */
export const TRIANGLE_EDGES: Int8Array = buildTable();

/** Number of triangles of each case (0 for cases with corner 6 inside). */
export const TRIANGLE_COUNTS: Uint8Array = countTriangles(TRIANGLE_EDGES);

function buildEdges(): [number, number][] {
  const edges: [number, number][] = [];
  for (let corner = 0; corner < 8; corner++) {
    for (let bit = 1; bit < 8; bit <<= 1) if ((corner & bit) === 0) edges.push([corner, corner | bit]);
  }
  return edges;
}

/** Index of the edge joining corners a and b. */
function edgeIndex(a: number, b: number): number {
  const index = EDGE_CORNERS.findIndex(([p, q]) => (p === a && q === b) || (p === b && q === a));
  if (index < 0) throw new Error(`corners ${a} and ${b} share no edge`);
  return index;
}

/** Faces as four corners in cyclic order, each with its outward normal. */
function buildFaces(): { corners: number[]; normal: [number, number, number] }[] {
  const faces: { corners: number[]; normal: [number, number, number] }[] = [];
  for (let axis = 0; axis < 3; axis++) {
    const u = 1 << ((axis + 1) % 3);
    const v = 1 << ((axis + 2) % 3);
    for (const side of [0, 1]) {
      const base = side << axis;
      const normal: [number, number, number] = [0, 0, 0];
      normal[axis] = side === 0 ? -1 : 1;
      faces.push({ corners: [base, base | u, base | u | v, base | v], normal });
    }
  }
  return faces;
}

function cornerPosition(corner: number): [number, number, number] {
  return [corner & 1, (corner >> 1) & 1, (corner >> 2) & 1];
}

function cross(a: readonly number[], b: readonly number[]): [number, number, number] {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}

function minus(a: readonly number[], b: readonly number[]): [number, number, number] {
  return [a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!];
}

function dot(a: readonly number[], b: readonly number[]): number {
  return a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
}

function triangleArea(a: number, b: number, c: number): number {
  const [pa, pb, pc] = [EDGE_MIDPOINTS[a]!, EDGE_MIDPOINTS[b]!, EDGE_MIDPOINTS[c]!];
  const n = cross(minus(pb, pa), minus(pc, pa));
  return Math.sqrt(dot(n, n)) / 2;
}

/** Directed face segments of one case: `next[edge]` is the edge the surface boundary moves to. */
function faceSegments(caseIndex: number): Int8Array {
  const next = new Int8Array(12).fill(-1);
  const inside = (corner: number): boolean => ((caseIndex >> corner) & 1) === 1;

  for (const { corners, normal } of buildFaces()) {
    const crossed: number[] = [];
    for (let k = 0; k < 4; k++) if (inside(corners[k]!) !== inside(corners[(k + 1) % 4]!)) crossed.push(k);
    if (crossed.length === 0) continue;

    // Each entry: the two face sides (side k joins corners k and k + 1) and a corner on a known side.
    const pairs: [number, number, number][] = [];
    if (crossed.length === 2) pairs.push([crossed[0]!, crossed[1]!, corners[0]!]);
    else {
      // Ambiguous face: cut off each inside corner k with the segment between sides k − 1 and k.
      for (let k = 0; k < 4; k++) if (inside(corners[k]!)) pairs.push([(k + 3) % 4, k, corners[k]!]);
    }

    for (const [sideP, sideQ, reference] of pairs) {
      let p = edgeIndex(corners[sideP]!, corners[(sideP + 1) % 4]!);
      let q = edgeIndex(corners[sideQ]!, corners[(sideQ + 1) % 4]!);
      // Direct p → q so that the reference corner, if inside, lies to the right seen from outside.
      const pp = EDGE_MIDPOINTS[p]!;
      const turn = dot(cross(minus(EDGE_MIDPOINTS[q]!, pp), minus(cornerPosition(reference), pp)), normal);
      if (turn > 0 === inside(reference)) [p, q] = [q, p];
      if (next[p] !== -1) throw new Error(`case ${caseIndex}: edge ${p} starts two segments`);
      next[p] = q;
    }
  }
  return next;
}

/** Closed loops of edges from the directed segments. */
function loops(next: Int8Array, caseIndex: number): number[][] {
  const visited = new Uint8Array(12);
  const result: number[][] = [];
  for (let start = 0; start < 12; start++) {
    if (next[start] === -1 || visited[start] === 1) continue;
    const loop: number[] = [];
    let edge = start;
    while (visited[edge] === 0) {
      visited[edge] = 1;
      loop.push(edge);
      edge = next[edge]!;
      if (edge === -1) throw new Error(`case ${caseIndex}: open boundary`);
    }
    if (edge !== start) throw new Error(`case ${caseIndex}: loop does not close`);
    result.push(loop);
  }
  return result;
}

/**
 * Triangulates a loop with the largest total area (dynamic programming over polygon diagonals).
 * Returns triangles in the loop's orientation.
 */
function triangulate(loop: readonly number[]): number[][] {
  const n = loop.length;
  const best = new Float64Array(n * n).fill(-1);
  const split = new Int8Array(n * n).fill(-1);
  const solve = (i: number, j: number): number => {
    if (j - i < 2) return 0;
    const cached = best[i * n + j]!;
    if (cached >= 0) return cached;
    let bestArea = -1;
    for (let k = i + 1; k < j; k++) {
      const area = solve(i, k) + solve(k, j) + triangleArea(loop[i]!, loop[k]!, loop[j]!);
      if (area > bestArea + 1e-12) {
        bestArea = area;
        split[i * n + j] = k;
      }
    }
    best[i * n + j] = bestArea;
    return bestArea;
  };
  solve(0, n - 1);

  const triangles: number[][] = [];
  const emit = (i: number, j: number): void => {
    if (j - i < 2) return;
    const k = split[i * n + j]!;
    triangles.push([loop[i]!, loop[k]!, loop[j]!]);
    emit(i, k);
    emit(k, j);
  };
  emit(0, n - 1);
  return triangles;
}

/** The 9 mirror planes of the cube as corner permutations: x, y, z flips and the 6 diagonal swaps. */
function cubeMirrors(): number[][] {
  const mirrors: ((p: [number, number, number]) => [number, number, number])[] = [
    ([x, y, z]) => [1 - x, y, z],
    ([x, y, z]) => [x, 1 - y, z],
    ([x, y, z]) => [x, y, 1 - z],
    ([x, y, z]) => [y, x, z],
    ([x, y, z]) => [1 - y, 1 - x, z],
    ([x, y, z]) => [z, y, x],
    ([x, y, z]) => [1 - z, y, 1 - x],
    ([x, y, z]) => [x, z, y],
    ([x, y, z]) => [x, 1 - z, 1 - y],
  ];
  return mirrors.map((mirror) =>
    Array.from({ length: 8 }, (_, corner) => {
      const [x, y, z] = mirror(cornerPosition(corner));
      return x + 2 * y + 4 * z;
    }),
  );
}

/** Fans a 7-point loop from the point fixed by a mirror symmetry of the case. */
function triangulateSymmetric(loop: readonly number[], caseIndex: number): number[][] {
  const inside = (corner: number): boolean => ((caseIndex >> corner) & 1) === 1;
  for (const mirror of cubeMirrors()) {
    if (![0, 1, 2, 3, 4, 5, 6, 7].every((corner) => inside(corner) === inside(mirror[corner]!))) continue;
    const fixed = loop.filter((edge) => {
      const [a, b] = EDGE_CORNERS[edge]!;
      return edgeIndex(mirror[a]!, mirror[b]!) === edge;
    });
    if (fixed.length !== 1) continue;
    const start = loop.indexOf(fixed[0]!);
    const triangles: number[][] = [];
    for (let k = 1; k + 1 < loop.length; k++) {
      triangles.push([loop[start]!, loop[(start + k) % loop.length]!, loop[(start + k + 1) % loop.length]!]);
    }
    return triangles;
  }
  throw new Error(`case ${caseIndex}: no mirror symmetry fixes one point of the 7-point loop`);
}

function buildTable(): Int8Array {
  const table = new Int8Array(256 * MAX_TRIANGLES * 3).fill(-1);
  for (let caseIndex = 1; caseIndex < 255; caseIndex++) {
    if (((caseIndex >> COMPLEMENT_CORNER) & 1) === 1) continue;
    const triangles = loops(faceSegments(caseIndex), caseIndex).flatMap((loop) =>
      loop.length === 7 ? triangulateSymmetric(loop, caseIndex) : triangulate(loop),
    );
    if (triangles.length > MAX_TRIANGLES) throw new Error(`case ${caseIndex}: ${triangles.length} triangles`);
    triangles.forEach((triangle, t) => {
      table.set(triangle, caseIndex * MAX_TRIANGLES * 3 + 3 * t);
    });
  }
  return table;
}

function countTriangles(table: Int8Array): Uint8Array {
  const counts = new Uint8Array(256);
  for (let caseIndex = 0; caseIndex < 256; caseIndex++) {
    let t = 0;
    while (t < MAX_TRIANGLES && table[caseIndex * MAX_TRIANGLES * 3 + 3 * t] !== -1) t++;
    counts[caseIndex] = t;
  }
  return counts;
}
