/**
 * A CT series as one volume in Hounsfield units on a regular grid.
 *
 * Slices are ordered by their ImagePositionPatient projected on the slice normal
 * (row direction × column direction), never by InstanceNumber, and the spacing along the normal
 * comes from those positions, never from SliceThickness. Grid axes: i follows the row direction
 * (ImageOrientationPatient[0..2]), j the column direction (ImageOrientationPatient[3..5]) and k
 * the normal; `spacingMm = [PixelSpacing[1], PixelSpacing[0], slice step]`.
 *
 * Tolerances (see `slice-geometry.ts`): direction cosines agree within 1e-4, pixel spacings within
 * 0.001 mm, and positions within the larger of 0.01 mm and 1 % of the voxel spacing along the
 * axis concerned. So each slice step may differ from the mean step by max(0.01 mm, 1 % of it).
 *
 * @see DICOM PS3.3 section C.7.6.2.1.1 (Image Position and Image Orientation).
 */

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import { readCtSlice } from './ct-slice.js';
import {
  isDicomPart10,
  MEDIA_STORAGE_DIRECTORY_SOP_CLASS,
  mediaStorageSopClassUid,
} from './dicom-dataset.js';
import {
  GEOMETRY_TOLERANCE,
  dot,
  formatVector,
  orientationFromIop,
  positionToleranceMm,
  subtract,
  vectorsAgree,
} from './slice-geometry.js';

import type { CtSlice } from './ct-slice.js';
import type { Grid, ImageVolume } from './volume.js';

/** A CT series decoded to Hounsfield units on one grid. */
export interface CtSeries {
  readonly volume: ImageVolume;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly frameOfReferenceUid: string | null;
  /** SOPInstanceUID of the image at each slice index k. */
  readonly sopInstanceUids: readonly string[];
  readonly modality: string;
  readonly seriesDescription: string | null;
}

/**
 * Decodes the files of one CT series into a volume. The order of `files` does not matter.
 *
 * @param files - the complete Part 10 files, one per slice
 * @throws Nqo1Error ERR_SERIES_EMPTY for no files; ERR_SERIES_MIXED when the files come from more
 *   than one series, study or frame of reference; ERR_SERIES_GEOMETRY when the slices do not form
 *   a regular volume; ERR_DICOM_MALFORMED or ERR_DICOM_UNSUPPORTED for an unreadable file.
 */
export function readCtSeries(files: readonly ArrayBuffer[]): CtSeries {
  if (files.length === 0) {
    throw new Nqo1Error(
      'ERR_SERIES_EMPTY',
      'No DICOM file was given for the CT series. Pass every slice of the series.',
    );
  }
  const slices = files.map((bytes, index) =>
    readCtSlice(bytes, `Image file ${index + 1} of ${files.length}`),
  );
  return assembleSeries(slices);
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
export async function readCtSeriesFromFolder(folderPath: string): Promise<CtSeries> {
  const entries = await readdir(folderPath, { withFileTypes: true });
  const names: string[] = [];
  const subfolders: string[] = [];
  for (const entry of entries) {
    if (entry.name.toUpperCase() === 'DICOMDIR') continue;
    const target = entry.isSymbolicLink() ? await stat(join(folderPath, entry.name)) : entry;
    if (target.isFile()) names.push(entry.name);
    else if (target.isDirectory()) subfolders.push(entry.name);
  }
  names.sort();
  subfolders.sort();

  const slices: CtSlice[] = [];
  let skipped = 0;
  for (const name of names) {
    const buffer = await readFile(join(folderPath, name));
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    if (!isDicomPart10(bytes) || mediaStorageSopClassUid(bytes) === MEDIA_STORAGE_DIRECTORY_SOP_CLASS) {
      skipped++;
      continue;
    }
    const copy = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
    slices.push(readCtSlice(copy, `Image file ${name}`));
  }

  if (slices.length === 0) throw emptyFolderError(folderPath, skipped, subfolders);
  return assembleSeries(slices);
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

/** Checks that the slices belong together and stacks them along the normal. */
function assembleSeries(slices: readonly CtSlice[]): CtSeries {
  const first = slices[0]!;
  requireSameValue(slices, 'SeriesInstanceUID', (slice) => slice.seriesInstanceUid);
  requireSameValue(slices, 'StudyInstanceUID', (slice) => slice.studyInstanceUid);
  requireSameValue(slices, 'FrameOfReferenceUID', (slice) => slice.frameOfReferenceUid ?? '(absent)');
  requireSameValue(slices, 'Modality', (slice) => slice.modality);
  requireSameGeometry(slices);

  const orientation = orientationFromIop(first.imageOrientation, first.context);
  const [rowSpacing, columnSpacing] = first.pixelSpacingMm;
  const sorted = [...slices].sort(
    (a, b) => dot(a.imagePositionMm, orientation.normal) - dot(b.imagePositionMm, orientation.normal),
  );
  const sliceStepMm = sliceStep(sorted, orientation.normal, orientation.row, orientation.column, [
    columnSpacing,
    rowSpacing,
  ]);

  const origin = sorted[0]!.imagePositionMm;
  const grid: Grid = {
    dimensions: [first.columns, first.rows, sorted.length],
    spacingMm: [columnSpacing, rowSpacing, sliceStepMm],
    originMm: origin,
    axes: [orientation.row, orientation.column, orientation.normal],
  };

  const sliceSize = first.rows * first.columns;
  const voxels = new Float64Array(sliceSize * sorted.length);
  sorted.forEach((slice, k) => {
    voxels.set(slice.values, k * sliceSize);
  });

  return {
    volume: { grid, voxels },
    studyInstanceUid: first.studyInstanceUid,
    seriesInstanceUid: first.seriesInstanceUid,
    frameOfReferenceUid: first.frameOfReferenceUid,
    sopInstanceUids: sorted.map((slice) => slice.sopInstanceUid),
    modality: first.modality,
    seriesDescription: first.seriesDescription,
  };
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

/**
 * Returns the slice step along the normal from the sorted positions. It first checks that no two
 * slices share a position, that the slices are stacked straight along the normal (a gantry tilt
 * would shift them within the plane), and that the steps are uniform. A single slice takes its
 * step from SpacingBetweenSlices, else SliceThickness, because no second position exists.
 */
function sliceStep(
  sorted: readonly CtSlice[],
  normal: readonly [number, number, number],
  row: readonly [number, number, number],
  column: readonly [number, number, number],
  inPlaneSpacingMm: readonly [number, number],
): number {
  const first = sorted[0]!;
  if (sorted.length === 1) return singleSliceStep(first);

  const projections = sorted.map((slice) => dot(slice.imagePositionMm, normal));
  for (let k = 0; k < sorted.length; k++) {
    const slice = sorted[k]!;
    const offset = subtract(slice.imagePositionMm, first.imagePositionMm);
    const shift = [dot(offset, row), dot(offset, column)] as const;
    if (
      Math.abs(shift[0]) > positionToleranceMm(inPlaneSpacingMm[0]) ||
      Math.abs(shift[1]) > positionToleranceMm(inPlaneSpacingMm[1])
    ) {
      throw geometryError(
        `${slice.context} at ImagePositionPatient ${formatVector(slice.imagePositionMm)} is shifted by ` +
          `${formatVector(shift)} mm within the image plane from ${first.context}, so the slices are not stacked ` +
          'along the slice normal (gantry tilt or a sheared acquisition). Resample the series to an orthogonal grid first',
      );
    }
    if (k === 0) continue;
    const step = projections[k]! - projections[k - 1]!;
    if (step <= GEOMETRY_TOLERANCE.minPositionMm) {
      throw geometryError(
        `${sorted[k - 1]!.context} and ${slice.context} lie at the same position ${formatVector(slice.imagePositionMm)} ` +
          '(duplicate slice). Remove the duplicate file or pass one series only',
      );
    }
  }

  const meanStep = (projections[projections.length - 1]! - projections[0]!) / (sorted.length - 1);
  const tolerance = positionToleranceMm(meanStep);
  for (let k = 1; k < sorted.length; k++) {
    const step = projections[k]! - projections[k - 1]!;
    if (Math.abs(step - meanStep) > tolerance) {
      throw geometryError(
        `the slice step between ${sorted[k - 1]!.context} and ${sorted[k]!.context} is ${step.toFixed(4)} mm, but the ` +
          `mean step is ${meanStep.toFixed(4)} mm (tolerance ${tolerance.toFixed(4)} mm): a slice is missing or the ` +
          'spacing varies. Retrieve the complete series, or resample it to uniform spacing first',
      );
    }
  }
  return meanStep;
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

function geometryError(problem: string): Nqo1Error {
  return new Nqo1Error('ERR_SERIES_GEOMETRY', `The slices do not form one regular volume: ${problem}.`);
}
