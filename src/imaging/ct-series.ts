/**
 * A CT series as one volume in Hounsfield units on a regular grid.
 *
 * The files may be single-frame CT images or Enhanced / Legacy Converted Enhanced CT images (one
 * slice per frame), and a series split over several multi-frame images forms one volume. Slices
 * of another orientation than the largest stack are set aside, and exact duplicates are dropped.
 * Slices are ordered by their ImagePositionPatient projected on the slice normal (row direction ×
 * column direction), never by InstanceNumber. The spacing along the normal comes from those
 * positions, never from SliceThickness (see `series-stack.ts` and `slice-spacing.ts`). Grid axes:
 * i follows the row direction (ImageOrientationPatient[0..2]), j the column direction
 * (ImageOrientationPatient[3..5]) and k the normal; `spacingMm = [PixelSpacing[1], PixelSpacing[0], slice step]`.
 *
 * Tolerances (see `slice-geometry.ts`): direction cosines agree within 1e-4, pixel spacings within
 * 0.001 mm, and positions within the larger of 0.01 mm and 1 % of the voxel spacing along the
 * axis concerned. So each slice step may differ from the mean step by max(0.01 mm, 1 % of it).
 *
 * @see DICOM PS3.3 section C.7.6.2.1.1 (Image Position and Image Orientation).
 */

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { Nqo1Error, isNqo1Error } from '../errors.js';

import { countOf, truncateInput } from './input-text.js';

import { readCtSlices } from './ct-slice.js';
import {
  isDicomPart10,
  MEDIA_STORAGE_DIRECTORY_SOP_CLASS,
  mediaStorageSopClassUid,
} from './dicom-dataset.js';
import { readFilePrefix, readInputFile } from './input-file.js';
import { prepareCodecs } from './prepare-codecs.js';
import { planResampling, resampleStack } from './series-resample.js';
import { geometryError, orderAlongNormal, selectLargestStack } from './series-stack.js';
import { GEOMETRY_TOLERANCE, formatVector, positionToleranceMm, vectorsAgree } from './slice-geometry.js';
import { planSliceSpacing } from './slice-spacing.js';

import type { CtSlice } from './ct-slice.js';
import type { ExcludedImage } from './series-stack.js';
import type { SpacingPlan } from './slice-spacing.js';
import type { Grid, ImageVolume } from './volume.js';

export type { ExcludedImage } from './series-stack.js';

/** The image a slice of the volume was read from. */
export interface SliceSource {
  readonly sopInstanceUid: string;
  /** 1-based frame number within a multi-frame image; null for a single-frame image. */
  readonly frameNumber: number | null;
}

/** A CT series decoded to Hounsfield units on one grid. */
export interface CtSeries {
  readonly volume: ImageVolume;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly frameOfReferenceUid: string | null;
  /**
   * SOPInstanceUID of the image at each slice index k. A multi-frame image appears once per frame,
   * so resolve references to it with {@link findSliceIndex}. A slice interpolated by resampling
   * has no image and gets the empty string.
   */
  readonly sopInstanceUids: readonly string[];
  /** The image and frame of each slice index k; null for a slice interpolated by resampling. */
  readonly sliceSources: readonly (SliceSource | null)[];
  /** Slices left out of the volume (other orientation, exact duplicate), with the reason. */
  readonly excluded: readonly ExcludedImage[];
  /** Facts a reviewer should see about how the volume was built, one sentence each. */
  readonly warnings: readonly string[];
  readonly modality: string;
  readonly seriesDescription: string | null;
}

/** Limits and choices of {@link readCtSeries}. */
export interface ReadCtSeriesOptions {
  /**
   * Resample a straight stack whose slice steps vary onto a regular grid with the smallest step,
   * by linear interpolation along the normal. Default false: such a series is rejected.
   */
  readonly resampleIrregular?: boolean;
  /** Maximum number of image files (instances). Default 2000. */
  readonly maxInstances?: number;
  /** Maximum number of voxels, of the frames read and of the volume built. Default 2^29. */
  readonly maxVoxels?: number;
  /**
   * The slice step of the complete series, in mm, when `files` are a contiguous run of its slices
   * (ROI-first retrieval). The mean step of a run differs from that of the series in the last bits,
   * or by up to the step tolerance where positions are rounded, and voxel volumes and every
   * spacing-dependent feature would follow it. A uniform run must agree with this step within
   * max(0.01 mm, 1 % of it); the volume then takes this step. Ignored for a resampled stack.
   */
  readonly sliceStepMm?: number;
}

/** Default limits: generous for a CT series, while bounding the memory a request can claim. */
/**
 * Default limits: 2000 instances, above the slice count of any single liver phase, and 2^29 voxels
 * (4 GiB as 8-byte Hounsfield values, e.g. 512 × 512 × 2048 slices).
 */
export const DEFAULT_SERIES_LIMITS = { maxInstances: 2000, maxVoxels: 2 ** 29 } as const;

/**
 * Decodes the files of one CT series into a volume. The order of `files` does not matter.
 *
 * @param files - the complete Part 10 files: one per slice, or multi-frame images
 * @throws Nqo1Error ERR_SERIES_EMPTY for no files. ERR_INPUT_TOO_LARGE when the instances or voxels
 *   exceed the limits of `options`, checked before any voxel is decoded. ERR_SERIES_MIXED when the
 *   files come from more than one series, study or frame of reference. ERR_SERIES_GEOMETRY when the
 *   slices do not form a regular volume (see `slice-spacing.ts`). ERR_DICOM_MALFORMED or
 *   ERR_DICOM_UNSUPPORTED for an unreadable file.
 */
export function readCtSeries(files: readonly ArrayBuffer[], options: ReadCtSeriesOptions = {}): CtSeries {
  if (files.length === 0) {
    throw new Nqo1Error(
      'ERR_SERIES_EMPTY',
      'No DICOM file was given for the CT series. Pass every slice of the series.',
    );
  }
  checkInstanceCount(files.length, options);
  const slices = files.flatMap((bytes, index) =>
    readCtSlices(bytes, `Image file ${index + 1} of ${files.length}`),
  );
  return assembleSeries(slices, options);
}

/**
 * Reads every regular file directly inside `folderPath`, or symbolic link to one, as one CT series.
 * Subfolders are not searched.
 *
 * Skipping rule: a file is skipped when it does not start with the DICOM Part 10 prefix (128-byte
 * preamble, then "DICM"), and a DICOMDIR is skipped, whether found by its name or by its Media
 * Storage SOP Class. Every other file must be a slice of
 * the one series, so a folder holding a second series or a SEG next to the CT is rejected.
 *
 * @throws Nqo1Error ERR_SERIES_EMPTY when no Part 10 file remains, and the errors of {@link readCtSeries}.
 */
export async function readCtSeriesFromFolder(
  folderPath: string,
  options: ReadCtSeriesOptions = {},
): Promise<CtSeries> {
  const entries = await readdir(folderPath, { withFileTypes: true });
  const names: string[] = [];
  const subfolders: string[] = [];
  const unreadable: string[] = [];
  for (const entry of entries) {
    if (entry.name.toUpperCase() === 'DICOMDIR') continue;
    // A dangling link or a link loop cannot be a slice; it is reported with the other skipped files.
    const target = entry.isSymbolicLink()
      ? await stat(join(folderPath, entry.name)).catch(() => null)
      : entry;
    if (target === null) unreadable.push(entry.name);
    else if (target.isFile()) names.push(entry.name);
    else if (target.isDirectory()) subfolders.push(entry.name);
  }
  names.sort();
  subfolders.sort();

  const slices: CtSlice[] = [];
  const skipped: string[] = [...unreadable];
  let instances = 0;
  for (const name of names) {
    const path = join(folderPath, name);
    // The prefix decides first, so that a large file that is not DICOM is never read whole.
    const prefix = await readFilePrefix(path, DICOM_PREFIX_BYTES);
    if (prefix === null || !isDicomPart10(prefix)) {
      skipped.push(name);
      continue;
    }
    const bytes = await readInputFile(path, `image file ${name}`);
    if (mediaStorageSopClassUid(bytes) === MEDIA_STORAGE_DIRECTORY_SOP_CLASS) {
      skipped.push(name);
      continue;
    }
    instances++;
    checkInstanceCount(instances, options);
    await prepareCodecs([bytes]);
    slices.push(...readCtSlices(bytes.slice().buffer, `Image file ${name}`));
  }

  if (slices.length === 0) throw emptyFolderError(folderPath, skipped.length, subfolders);
  try {
    const series = assembleSeries(slices, options);
    if (skipped.length === 0) return series;
    const skippedWarning =
      `${countOf(skipped.length, 'file')} in the folder ${skipped.length === 1 ? 'was' : 'were'} skipped as not ` +
      `readable DICOM Part 10 files: ${listNames(skipped)}.`;
    return { ...series, warnings: [...series.warnings, skippedWarning] };
  } catch (error) {
    // A slice that was skipped as unreadable may be the one that a geometry error finds missing.
    if (!isNqo1Error(error, 'ERR_SERIES_GEOMETRY') || skipped.length === 0) throw error;
    throw withSentence(
      error,
      `${countOf(skipped.length, 'file')} in the folder ${skipped.length === 1 ? 'was' : 'were'} skipped because ` +
        `${skipped.length === 1 ? 'it is not a readable DICOM Part 10 file' : 'they are not readable DICOM Part 10 files'}: ` +
        `${listNames(skipped)}.`,
    );
  }
}

/** Prefix that marks a DICOM Part 10 file: the 128-byte preamble and "DICM". */
const DICOM_PREFIX_BYTES = 132;

/** Lists at most five names, then how many more there are. */
function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 5).map(truncateInput).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/** Returns a copy of `error` with one more sentence, keeping its code and details. */
function withSentence(error: Nqo1Error, sentence: string): Nqo1Error {
  return new Nqo1Error(error.code, `${error.message} ${sentence}`, { cause: error, details: error.details });
}

/** Describes a folder without slices, and points at a subfolder when the slices may lie there. */
function emptyFolderError(
  folderPath: string,
  skippedFiles: number,
  subfolders: readonly string[],
): Nqo1Error {
  const found = `Folder ${folderPath} contains no DICOM Part 10 file (${skippedFiles} other files skipped).`;
  const firstSubfolder = subfolders[0];
  if (firstSubfolder === undefined) {
    return new Nqo1Error('ERR_SERIES_EMPTY', `${found} Pass the folder that contains the slice files.`);
  }
  return new Nqo1Error(
    'ERR_SERIES_EMPTY',
    `${found} Subfolders are not searched, and it has ${subfolders.length} (${firstSubfolder}` +
      `${subfolders.length > 1 ? ', ...' : ''}). Pass the series folder itself, such as ${join(folderPath, firstSubfolder)}.`,
    { details: { skippedFiles, subfolders: subfolders.length } },
  );
}

/**
 * Checks that the slices belong together, sets aside other orientations and duplicates, checks
 * the size limits from the headers, and only then decodes the slices into the volume.
 */
function assembleSeries(slices: readonly CtSlice[], options: ReadCtSeriesOptions): CtSeries {
  const first = slices[0]!;
  requireSameValue(slices, 'SeriesInstanceUID', (slice) => slice.seriesInstanceUid);
  // One SeriesInstanceUID under several StudyInstanceUIDs breaks the DICOM information model (a
  // series belongs to exactly one study), and such files are usually edited or merged exports.
  // The series is rejected rather than read, because the study that reports and write-back would
  // name is then unknown.
  requireSameValue(slices, 'StudyInstanceUID', (slice) => slice.studyInstanceUid);
  requireSameValue(slices, 'FrameOfReferenceUID', (slice) => slice.frameOfReferenceUid ?? '(absent)');
  requireSameValue(slices, 'Modality', (slice) => slice.modality);
  checkVoxelCount(
    'the frames read',
    slices.reduce((total, slice) => total + slice.rows * slice.columns, 0),
    options,
  );

  const stack = selectLargestStack(slices);
  requireSameGeometry(stack.slices);
  const ordered = orderAlongNormal(stack.slices, stack.orientation);
  let plan: SpacingPlan;
  try {
    plan = planSliceSpacing(
      ordered.slices,
      ordered.positionsMm,
      stack.orientation,
      options.resampleIrregular ?? false,
    );
  } catch (error) {
    // A slice set aside for its orientation may be the one that leaves the gap.
    if (!isNqo1Error(error, 'ERR_SERIES_GEOMETRY') || stack.excluded.length === 0) throw error;
    throw withSentence(
      error,
      `${countOf(stack.excluded.length, 'image')} ${stack.excluded.length === 1 ? 'was' : 'were'} set aside because ` +
        `${stack.excluded.length === 1 ? 'its orientation differs' : 'their orientation differs'} from the series: ` +
        `${listNames(stack.excluded.map((image) => `${image.context} (${image.reason})`))}.`,
    );
  }

  if (options.sliceStepMm !== undefined && plan.kind === 'uniform') {
    plan = { kind: 'uniform', stepMm: seriesStep(plan.stepMm, options.sliceStepMm, ordered.slices) };
  }

  const stackFirst = ordered.slices[0]!;
  const resampling =
    plan.kind === 'uniform'
      ? null
      : planResampling(
          ordered.slices,
          ordered.positionsMm,
          stack.orientation,
          plan.stepMm,
          plan.tiltDegrees !== null,
        );
  const columns = resampling?.columns ?? stackFirst.columns;
  const rows = resampling?.rows ?? stackFirst.rows;
  const sliceCount = resampling?.sliceCount ?? ordered.slices.length;
  checkVoxelCount('the volume', columns * rows * sliceCount, options);

  const excluded = [...stack.excluded, ...ordered.excluded];
  const warnings = excluded.map((image) => `${image.context} was left out: ${image.reason}.`);
  const lossy = ordered.slices.filter((slice) => slice.lossyCompressed).length;
  if (lossy > 0) {
    warnings.push(
      `${countOf(lossy, 'slice')} of ${ordered.slices.length} ${lossy === 1 ? 'has' : 'have'} been through lossy ` +
        'compression (LossyImageCompression or a lossy transfer syntax), which changes texture features; ' +
        'use the original images where the PACS keeps them.',
    );
  }
  let voxels: Float64Array;
  let sources: (CtSlice | null)[];
  if (resampling === null || plan.kind === 'uniform') {
    const sliceSize = rows * columns;
    voxels = new Float64Array(sliceSize * sliceCount);
    ordered.slices.forEach((slice, k) => {
      slice.decodeInto(voxels, k * sliceSize);
    });
    sources = [...ordered.slices];
  } else {
    const resampled = resampleStack(ordered.slices, ordered.positionsMm, resampling);
    voxels = resampled.voxels;
    sources = resampled.sourceOfSlice.map((index) => (index === null ? null : ordered.slices[index]!));
    warnings.push(resamplingWarning(ordered.slices.length, plan, sliceCount, resampled.filledVoxels));
  }

  const [rowSpacing, columnSpacing] = stackFirst.pixelSpacingMm;
  const grid: Grid = {
    dimensions: [columns, rows, sliceCount],
    spacingMm: [columnSpacing, rowSpacing, plan.stepMm],
    originMm: resampling?.originMm ?? stackFirst.imagePositionMm,
    axes: [stack.orientation.row, stack.orientation.column, stack.orientation.normal],
  };

  return {
    volume: { grid, voxels },
    studyInstanceUid: first.studyInstanceUid,
    seriesInstanceUid: first.seriesInstanceUid,
    frameOfReferenceUid: first.frameOfReferenceUid,
    sopInstanceUids: sources.map((slice) => slice?.sopInstanceUid ?? ''),
    sliceSources: sources.map((slice) =>
      slice === null ? null : { sopInstanceUid: slice.sopInstanceUid, frameNumber: slice.frameNumber },
    ),
    excluded,
    warnings,
    modality: first.modality,
    seriesDescription: first.seriesDescription,
  };
}

function resamplingWarning(
  sourceSlices: number,
  plan: SpacingPlan & { readonly kind: 'resample' },
  sliceCount: number,
  filledVoxels: number,
): string {
  const found =
    plan.tiltDegrees === null
      ? `had varying steps along the normal (${plan.stepsText})`
      : `were acquired with a gantry tilt of ${plan.tiltDegrees.toFixed(1)}° (steps along the normal: ${plan.stepsText})`;
  const filled =
    filledVoxels === 0
      ? ''
      : ` ${filledVoxels} voxels outside the field of view of the slices were set to the smallest value of the series.`;
  return (
    `The ${sourceSlices} slices ${found} and were resampled by linear interpolation onto an orthogonal grid of ` +
    `${sliceCount} slices ${plan.stepMm.toFixed(4)} mm apart.${filled}`
  );
}

/**
 * Returns the slice index k of the image `sopInstanceUid` (and, for a multi-frame image, its
 * 1-based `frameNumber`, as in ReferencedFrameNumber), or null when the series has no such slice.
 * Without a frame number, a multi-frame image matches only when one of its frames is in the volume.
 */
export function findSliceIndex(
  series: CtSeries,
  sopInstanceUid: string,
  frameNumber: number | null,
): number | null {
  const matches: number[] = [];
  series.sliceSources.forEach((source, k) => {
    if (source === null || source.sopInstanceUid !== sopInstanceUid) return;
    if (frameNumber === null || source.frameNumber === frameNumber || source.frameNumber === null) {
      matches.push(k);
    }
  });
  return matches.length === 1 ? matches[0]! : null;
}

function checkInstanceCount(instances: number, options: ReadCtSeriesOptions): void {
  const limit = options.maxInstances ?? DEFAULT_SERIES_LIMITS.maxInstances;
  if (instances <= limit) return;
  throw new Nqo1Error(
    'ERR_INPUT_TOO_LARGE',
    `The CT series has more than ${limit} image files (maxInstances), found at least ${instances}. ` +
      'Pass one series only, or raise the limit (--max-instances on the command line, imaging.maxSeriesInstances in the service).',
    { details: { limit: 'maxInstances', maxInstances: limit, instances } },
  );
}

function checkVoxelCount(what: string, voxels: number, options: ReadCtSeriesOptions): void {
  const limit = options.maxVoxels ?? DEFAULT_SERIES_LIMITS.maxVoxels;
  if (voxels <= limit) return;
  throw new Nqo1Error(
    'ERR_INPUT_TOO_LARGE',
    `The CT series is too large: ${what} would hold ${voxels} voxels, above the limit of ${limit} (maxVoxels). ` +
      'Pass a smaller series, or raise the limit (--max-voxels on the command line, imaging.maxVolumeVoxels in the service).',
    { details: { limit: 'maxVoxels', maxVoxels: limit, voxels } },
  );
}

function requireSameValue(
  slices: readonly CtSlice[],
  keyword: string,
  read: (slice: CtSlice) => string,
): void {
  const counts = new Map<string, number>();
  for (const slice of slices) counts.set(read(slice), (counts.get(read(slice)) ?? 0) + 1);
  if (counts.size <= 1) return;
  const listed = [...counts].map(([value, count]) => `${truncateInput(value)} (${count} files)`).join(', ');
  throw new Nqo1Error(
    'ERR_SERIES_MIXED',
    `The files do not share one ${keyword}: ${listed}. Pass the files of exactly one series.`,
    { details: { attribute: keyword, distinctValues: counts.size } },
  );
}

/**
 * Returns the complete series' step when the run's own mean step agrees with it.
 *
 * @throws Nqo1Error ERR_SERIES_GEOMETRY when they differ by more than max(0.01 mm, 1 % of the step).
 */
function seriesStep(runStepMm: number, sliceStepMm: number, slices: readonly CtSlice[]): number {
  if (Math.abs(runStepMm - sliceStepMm) <= positionToleranceMm(sliceStepMm)) return sliceStepMm;
  throw geometryError(
    `the ${slices.length} slices from ${slices[0]!.context} to ${slices[slices.length - 1]!.context} are ` +
      `${runStepMm.toFixed(4)} mm apart, but the complete series is ${sliceStepMm.toFixed(4)} mm apart. ` +
      'Retrieve the whole series',
  );
}

/** Requires every slice to have the first slice's size, pixel spacing and orientation. */
function requireSameGeometry(slices: readonly CtSlice[]): void {
  const first = slices[0]!;
  for (const slice of slices) {
    if (slice.rows !== first.rows || slice.columns !== first.columns) {
      throw geometryError(
        `${slice.context} has ${slice.rows} rows × ${slice.columns} columns, but ${first.context} has ` +
          `${first.rows} × ${first.columns}`,
      );
    }
    if (!vectorsAgree(slice.pixelSpacingMm, first.pixelSpacingMm, GEOMETRY_TOLERANCE.spacingMm)) {
      throw geometryError(
        `${slice.context} has PixelSpacing ${formatVector(slice.pixelSpacingMm)} mm, but ${first.context} has ` +
          `${formatVector(first.pixelSpacingMm)} mm`,
      );
    }
    if (!vectorsAgree(slice.imageOrientation, first.imageOrientation, GEOMETRY_TOLERANCE.directionCosine)) {
      throw geometryError(
        `${slice.context} has ImageOrientationPatient ${formatVector(slice.imageOrientation)}, but ${first.context} ` +
          `has ${formatVector(first.imageOrientation)}`,
      );
    }
  }
}
