/**
 * The spacing along the slice normal of an ordered stack, taken from the slice positions and never
 * from SliceThickness or SpacingBetweenSlices when two or more positions exist.
 *
 * Tolerance: a step agrees with the mean step within max(0.01 mm, 1 % of the mean step)
 * ({@link positionToleranceMm}), and a slice is stacked straight along the normal when its shift
 * within the image plane from the first slice is within the same tolerance of the pixel spacing.
 *
 * @see DICOM PS3.3 section C.7.6.2.1.1 (Image Position and Image Orientation).
 */

import { geometryError } from './series-stack.js';
import { dot, positionToleranceMm, subtract } from './slice-geometry.js';

import type { CtSlice } from './ct-slice.js';
import type { SliceOrientation } from './slice-geometry.js';

/** The mapping of an ordered stack onto a regular grid along the normal. */
export type SpacingPlan =
  | { readonly kind: 'uniform'; readonly stepMm: number }
  | {
      readonly kind: 'resample';
      /** The output step: the uniform step of a tilted stack, else the smallest step. */
      readonly stepMm: number;
      /** The distinct steps along the normal, formatted for a message. */
      readonly stepsText: string;
      /** The gantry tilt in degrees, or null for a stack straight along its normal. */
      readonly tiltDegrees: number | null;
    };

/**
 * Decides the slice step of a stack ordered by {@link orderAlongNormal}.
 *
 * - One slice: SpacingBetweenSlices, else SliceThickness. A single position gives no step, and
 *   SpacingBetweenSlices is the distance the reconstruction placed between neighbouring slices,
 *   which is what the positions would have given; SliceThickness is the nominal width of the slab
 *   and is used only without it.
 * - Uniform steps along the normal, slices not shifted within the plane: the mean step.
 * - One group of equal steps covering most of the stack, with larger steps elsewhere: slices are
 *   missing, and the series is rejected even when resampling is allowed, because interpolating
 *   across missing anatomy would invent it.
 * - Other varying steps, or slices shifted within the plane (gantry tilt): rejected unless
 *   `resampleIrregular`, then resampled (see `series-resample.ts`).
 *
 * @throws Nqo1Error ERR_SERIES_GEOMETRY for a gantry tilt or varying steps without
 *   `resampleIrregular`, for missing slices, and for one slice without a step.
 */
export function planSliceSpacing(
  slices: readonly CtSlice[],
  positionsMm: readonly number[],
  orientation: SliceOrientation,
  resampleIrregular: boolean,
): SpacingPlan {
  const first = slices[0]!;
  if (slices.length === 1) return { kind: 'uniform', stepMm: singleSliceStep(first) };

  const steps = positionsMm.slice(1).map((position, k) => position - positionsMm[k]!);
  const clusters = clusterSteps(steps);
  const stepsText = clusters
    .map(
      (cluster) =>
        `${cluster.meanMm.toFixed(2)} mm (${cluster.count} ${cluster.count === 1 ? 'step' : 'steps'})`,
    )
    .join(', ');

  const meanStep = (positionsMm[positionsMm.length - 1]! - positionsMm[0]!) / steps.length;
  const tolerance = positionToleranceMm(meanStep);
  const uniform = steps.every((step) => Math.abs(step - meanStep) <= tolerance);
  const tilt = measureTilt(slices, positionsMm, orientation);
  if (uniform && tilt === null) return { kind: 'uniform', stepMm: meanStep };

  if (!uniform) checkMissingSlices(slices, positionsMm, steps, clusters);
  const stepMm = uniform ? meanStep : clusters[0]!.meanMm;
  if (resampleIrregular) return { kind: 'resample', stepMm, stepsText, tiltDegrees: tilt?.degrees ?? null };

  const last = slices[slices.length - 1]!;
  if (tilt !== null) {
    throw geometryError(
      `the slices are not stacked along their normal: ${last.context} is shifted by ${tilt.inPlaneMm.toFixed(2)} mm ` +
        `within the image plane from ${first.context} over ${tilt.alongMm.toFixed(2)} mm along the normal, a gantry ` +
        `tilt of ${tilt.degrees.toFixed(1)}° (slice steps along the normal: ${stepsText}). Reconstruct the series ` +
        'without gantry tilt (orthogonal slices), or enable resampling (--resample-irregular on the command line, imaging.resampleIrregular in the service), which ' +
        'interpolates the series onto an orthogonal grid',
    );
  }
  throw geometryError(
    `the slice steps along the normal vary between ${first.context} and ${last.context}: ${stepsText}. ` +
      'Reconstruct the series with uniform spacing, or enable resampling (--resample-irregular on the command line, imaging.resampleIrregular in the service), which ' +
      'interpolates linearly onto the smallest step',
  );
}

/**
 * Measures how far the slices leave the normal through the first slice's position. Under a gantry
 * tilt the positions follow the table axis while the normal is tilted, so each slice is shifted
 * within the image plane. The tilt angle is atan(in-plane shift / distance along the normal) from
 * the first slice to the last. Returns null when every shift is within tolerance.
 */
function measureTilt(
  slices: readonly CtSlice[],
  positionsMm: readonly number[],
  orientation: SliceOrientation,
): { readonly degrees: number; readonly inPlaneMm: number; readonly alongMm: number } | null {
  const first = slices[0]!;
  const [rowSpacing, columnSpacing] = first.pixelSpacingMm;
  const shifted = slices.some((slice) => {
    const offset = subtract(slice.imagePositionMm, first.imagePositionMm);
    return (
      Math.abs(dot(offset, orientation.row)) > positionToleranceMm(columnSpacing) ||
      Math.abs(dot(offset, orientation.column)) > positionToleranceMm(rowSpacing)
    );
  });
  if (!shifted) return null;

  const offset = subtract(slices[slices.length - 1]!.imagePositionMm, first.imagePositionMm);
  const inPlaneMm = Math.hypot(dot(offset, orientation.row), dot(offset, orientation.column));
  const alongMm = positionsMm[positionsMm.length - 1]! - positionsMm[0]!;
  return { degrees: (Math.atan2(inPlaneMm, alongMm) * 180) / Math.PI, inPlaneMm, alongMm };
}

/**
 * Rejects a stack whose steps are mostly equal with larger steps in between, naming each gap and
 * the number of slices that would fill it.
 */
function checkMissingSlices(
  slices: readonly CtSlice[],
  positionsMm: readonly number[],
  steps: readonly number[],
  clusters: readonly StepCluster[],
): void {
  const regular = clusters.reduce((best, cluster) => (cluster.count > best.count ? cluster : best));
  const tolerance = positionToleranceMm(regular.meanMm);
  const majority = regular.count * 2 > steps.length;
  const othersLarger = steps.every((step) => step >= regular.meanMm - tolerance);
  if (!majority || !othersLarger) return;

  const gaps = steps.flatMap((step, k) =>
    step - regular.meanMm > tolerance
      ? [
          `${step.toFixed(2)} mm between ${slices[k]!.context} at ${positionsMm[k]!.toFixed(2)} mm and ` +
            `${slices[k + 1]!.context} at ${positionsMm[k + 1]!.toFixed(2)} mm along the normal ` +
            `(about ${missingSlicesText(step, regular.meanMm)} missing)`,
        ]
      : [],
  );
  throw geometryError(
    `the series has a regular step of ${regular.meanMm.toFixed(2)} mm but ${gaps.length === 1 ? 'a gap' : 'gaps'} of ` +
      `${gaps.join('; ')}. Retrieve the complete series; a series with missing slices is not interpolated`,
  );
}

function missingSlicesText(gapMm: number, stepMm: number): string {
  const missing = Math.max(1, Math.round(gapMm / stepMm) - 1);
  return missing === 1 ? '1 slice' : `${missing} slices`;
}

interface StepCluster {
  readonly meanMm: number;
  readonly count: number;
}

/** Groups steps, smallest first, so that each group spans at most the tolerance of its smallest step. */
function clusterSteps(steps: readonly number[]): StepCluster[] {
  const sorted = [...steps].sort((a, b) => a - b);
  const clusters: { start: number; sum: number; count: number }[] = [];
  for (const step of sorted) {
    const current = clusters[clusters.length - 1];
    if (current !== undefined && step - current.start <= positionToleranceMm(current.start)) {
      current.sum += step;
      current.count++;
    } else {
      clusters.push({ start: step, sum: step, count: 1 });
    }
  }
  return clusters.map((cluster) => ({ meanMm: cluster.sum / cluster.count, count: cluster.count }));
}

function singleSliceStep(slice: CtSlice): number {
  const step = slice.spacingBetweenSlicesMm ?? slice.sliceThicknessMm;
  if (step === null || !(step > 0)) {
    throw geometryError(
      `${slice.context} is the only slice and states neither SpacingBetweenSlices nor a positive SliceThickness ` +
        `(found ${String(step)}), so the spacing along the normal is unknown. Pass every slice of the series`,
    );
  }
  return step;
}
