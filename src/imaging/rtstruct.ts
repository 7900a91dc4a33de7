/**
 * One ROI of a DICOM RT Structure Set (RTSTRUCT) as a binary mask on the grid of its CT series.
 *
 * The ROI is found in StructureSetROISequence (ROINumber, ROIName) and its contours in the
 * ROIContourSequence item with the same ReferencedROINumber. Each contour must be CLOSED_PLANAR and
 * lie in the plane of one CT slice. It is filled at the voxel centres of that slice with the
 * even-odd rule of `contour-raster.ts`, so holes stay holes. A centre on an edge is inside when the
 * interior lies on its +i or +j side.
 *
 * A contour is placed by its ContourData (patient coordinates, mm): the mean position of its points
 * along the slice normal must lie within max(0.01 mm, 1 % of the slice step) of a slice plane, and
 * every point must lie within that tolerance of the same plane. When the contour also references
 * an image (ContourImageSequence), that image must be in the series and be the slice found.
 *
 * @see DICOM PS3.3 sections C.8.8.5 (Structure Set module) and C.8.8.6 (ROI Contour module).
 */

import { Nqo1Error } from '../errors.js';

import { countOf, truncateInput } from './input-text.js';

import { fillContoursEvenOdd } from './contour-raster.js';
import { readDicomFile } from './dicom-dataset.js';
import { checkRoiOnGrid, maskToleranceMm } from './mask-on-grid.js';
import { dot, formatVector, subtract } from './slice-geometry.js';
import { countLabel } from './volume.js';

import type { SlicePoint } from './contour-raster.js';
import type { CtSeries } from './ct-series.js';
import type { DicomItem } from './dicom-dataset.js';
import type { MaskGridOptions } from './mask-on-grid.js';
import type { SegmentSelection } from './seg-segments.js';
import type { Grid, MaskVolume, Vec3 } from './volume.js';

/** SOP Class UID of RT Structure Set Storage (PS3.4 annex B.5). */
export const RT_STRUCTURE_SET_STORAGE = '1.2.840.10008.5.1.4.1.1.481.3';

/** Number of missing SOP Instance UIDs quoted in an error message. */
const LISTED_UIDS = 3;

/** Choice of the ROI to read. With neither field, the structure set must contain exactly one ROI. */
export interface RoiSelection {
  readonly roiNumber?: number;
  /** Compared with ROIName ignoring case and surrounding spaces. */
  readonly roiName?: string;
}

/** Maps a segment choice onto an ROI: the number selects ROINumber, the label ROIName. */
export function roiSelectionOf(segment: SegmentSelection): RoiSelection {
  return {
    ...(segment.segmentNumber === undefined ? {} : { roiNumber: segment.segmentNumber }),
    ...(segment.segmentLabel === undefined ? {} : { roiName: segment.segmentLabel }),
  };
}

interface RoiDescription {
  readonly number: number;
  readonly name: string;
  readonly frameOfReferenceUid: string | null;
}

interface PlacedContour {
  readonly k: number;
  readonly points: readonly SlicePoint[];
}

/**
 * Reads one ROI of an RTSTRUCT as a 0/1 mask on the grid of `series`.
 *
 * The ROI's ReferencedFrameOfReferenceUID must equal the series' FrameOfReferenceUID, unless every
 * contour references an image of the series. Those image references tie the contours to the series
 * more strongly, and some exporters (rt-utils, for one) write a frame of reference UID of their own.
 *
 * @throws Nqo1Error ERR_DICOM_MALFORMED when the file is not a Part 10 file (the file meta header is
 *   required); ERR_DICOM_UNSUPPORTED for another SOP class or a contour that is not CLOSED_PLANAR;
 *   ERR_SEGMENT_SELECTION listing the ROIs when none or several match; ERR_MASK_EMPTY when the ROI
 *   has no contour or its contours enclose no voxel centre; ERR_RTSTRUCT_MALFORMED when contours
 *   reference images missing from the series (naming them and their count) or contradict them;
 *   ERR_MASK_GEOMETRY when a contour does not lie on a slice plane of the series.
 */
export function readRtStructMask(
  bytes: ArrayBuffer,
  series: CtSeries,
  selection: RoiSelection = {},
  options: MaskGridOptions = {},
): MaskVolume {
  // LIMITATION: a bare dataset without the Part 10 preamble and file meta header is rejected,
  // because its transfer syntax is unknown. Guessing it from the first elements would lift this.
  const file = readDicomFile(bytes, 'RTSTRUCT file');
  const dataset = file.dataset;
  const sopClassUid = dataset.string('SOPClassUID');
  if (sopClassUid !== RT_STRUCTURE_SET_STORAGE) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `RTSTRUCT file: SOPClassUID is ${truncateInput(String(sopClassUid))}, not RT Structure Set Storage ` +
        `(${RT_STRUCTURE_SET_STORAGE}). Pass an RT Structure Set object.`,
    );
  }

  const roi = selectRoi(dataset, selection);
  const contourItems = roiContours(dataset, roi);
  checkReferencedSeries(dataset, series);

  const sopIndex = new Map(series.sopInstanceUids.map((uid, k) => [uid, k]));
  checkImageReferences(contourItems, roi, sopIndex);
  const everyContourReferencesImage = contourItems.every((item) => referencedImages(item).length > 0);
  checkFrameOfReference(roi, series, everyContourReferencesImage);

  const grid = series.volume.grid;
  const placed = contourItems.map((item, index) => placeContour(item, index, roi, series, options));
  const mask = rasterise(placed, roi, grid);
  checkRoiOnGrid(mask, {
    description: `RTSTRUCT file: ${describeRoi(roi)}`,
    sourceVoxels: countLabel(mask),
    sourceBoxMm: null,
    outsideVoxels: 0,
  });
  return mask;
}

function rtError(problem: string, details: Record<string, string | number> = {}): Nqo1Error {
  return new Nqo1Error('ERR_RTSTRUCT_MALFORMED', `RTSTRUCT file: ${problem}.`, { details });
}

function describeRoi(roi: RoiDescription): string {
  return `ROI ${roi.number} "${truncateInput(roi.name)}"`;
}

/**
 * Returns the ROI to read. Without a selection, a structure set with several ROIs is an error
 * rather than a silent choice, because reading an organ instead of the tumour would give plausible
 * but wrong features.
 */
function selectRoi(dataset: DicomItem, selection: RoiSelection): RoiDescription {
  const rois = dataset.sequence('StructureSetROISequence').map((item): RoiDescription => ({
    number: item.requireNumber('ROINumber'),
    name: item.string('ROIName') ?? '',
    frameOfReferenceUid: item.string('ReferencedFrameOfReferenceUID'),
  }));
  if (rois.length === 0) {
    throw rtError('StructureSetROISequence is empty, so the structure set describes no ROI. Export it again');
  }

  let candidates = rois;
  if (selection.roiNumber !== undefined) {
    candidates = candidates.filter((roi) => roi.number === selection.roiNumber);
  }
  if (selection.roiName !== undefined) {
    const requested = selection.roiName.trim().toLowerCase();
    candidates = candidates.filter((roi) => roi.name.trim().toLowerCase() === requested);
  }
  const chosen = candidates[0];
  if (candidates.length === 1 && chosen !== undefined) return chosen;

  const requested: string[] = [];
  if (selection.roiNumber !== undefined) requested.push(`ROI number ${selection.roiNumber}`);
  if (selection.roiName !== undefined) requested.push(`ROI name "${truncateInput(selection.roiName)}"`);
  const problem =
    requested.length === 0
      ? `no ROI was chosen and the structure set contains ${rois.length} ROIs`
      : `${candidates.length === 0 ? 'no ROI matches' : `${candidates.length} ROIs match`} ${requested.join(' and ')}`;
  throw new Nqo1Error(
    'ERR_SEGMENT_SELECTION',
    `RTSTRUCT file: ${problem}. It contains ${rois.map(describeRoi).join(', ')}; choose one by ROI number or name (--segment on the command line).`,
    { details: { rois: rois.map((roi) => roi.number) } },
  );
}

/** Returns the ContourSequence items of the ROI, and raises ERR_MASK_EMPTY when it has none. */
function roiContours(dataset: DicomItem, roi: RoiDescription): readonly DicomItem[] {
  const roiContour = dataset
    .sequence('ROIContourSequence')
    .find((item) => item.number('ReferencedROINumber') === roi.number);
  const contours = roiContour?.sequence('ContourSequence') ?? [];
  if (contours.length === 0) {
    throw new Nqo1Error(
      'ERR_MASK_EMPTY',
      `RTSTRUCT file: ${describeRoi(roi)} has no contour (ROIContourSequence holds ` +
        `${roiContour === undefined ? 'no item' : 'an item with an empty ContourSequence'} for it), so its mask ` +
        'is empty. Choose the ROI of the tumour, or draw the tumour and export the structure set again.',
      { details: { roiNumber: roi.number } },
    );
  }
  return contours;
}

function referencedImages(contour: DicomItem): readonly string[] {
  return contour
    .sequence('ContourImageSequence')
    .map((item) => item.string('ReferencedSOPInstanceUID'))
    .filter((uid): uid is string => uid !== null);
}

/** Requires the series named in RTReferencedSeriesSequence, when any, to include the CT series. */
function checkReferencedSeries(dataset: DicomItem, series: CtSeries): void {
  const seriesUids: string[] = [];
  for (const frame of dataset.sequence('ReferencedFrameOfReferenceSequence')) {
    for (const study of frame.sequence('RTReferencedStudySequence')) {
      for (const referenced of study.sequence('RTReferencedSeriesSequence')) {
        const uid = referenced.string('SeriesInstanceUID');
        if (uid !== null) seriesUids.push(uid);
      }
    }
  }
  if (seriesUids.length === 0 || seriesUids.includes(series.seriesInstanceUid)) return;
  throw new Nqo1Error(
    'ERR_MASK_GEOMETRY',
    `RTSTRUCT file: the structure set was drawn on series ${truncateInput(seriesUids.join(', '))} ` +
      `(RTReferencedSeriesSequence), not on CT series ${truncateInput(series.seriesInstanceUid)}. Pass the ` +
      'structure set made on this CT series, or the CT series it references.',
  );
}

/**
 * Requires every image the ROI's contours reference to be in the series. A missing image means
 * the series is incomplete or another series, and the contours on it would be lost silently.
 */
function checkImageReferences(
  contours: readonly DicomItem[],
  roi: RoiDescription,
  sopIndex: ReadonlyMap<string, number>,
): void {
  const referenced = new Set(contours.flatMap(referencedImages));
  const missing = [...referenced].filter((uid) => !sopIndex.has(uid));
  if (missing.length === 0) return;

  const listed = missing.slice(0, LISTED_UIDS).map(truncateInput).join(', ');
  throw rtError(
    `the contours of ${describeRoi(roi)} reference ${countOf(referenced.size, 'image')}, and ${missing.length} of ` +
      `them ${missing.length === 1 ? 'is' : 'are'} not in the CT series of ${countOf(sopIndex.size, 'image')}: ` +
      `${listed}${missing.length > LISTED_UIDS ? ', ...' : ''}. ` +
      'Pass the complete CT series the structure set was drawn on',
    { roiNumber: roi.number, referencedImages: referenced.size, missingImages: missing.length },
  );
}

function checkFrameOfReference(
  roi: RoiDescription,
  series: CtSeries,
  everyContourReferencesImage: boolean,
): void {
  const roiUid = roi.frameOfReferenceUid;
  const seriesUid = series.frameOfReferenceUid;
  if (roiUid === null || seriesUid === null || roiUid === seriesUid || everyContourReferencesImage) return;
  throw new Nqo1Error(
    'ERR_MASK_GEOMETRY',
    `RTSTRUCT file: ${describeRoi(roi)} is in frame of reference ${truncateInput(roiUid)}, but the CT series is in ` +
      `${truncateInput(seriesUid)}, and not every contour references an image of the series. Pass the structure ` +
      'set made on this CT series.',
  );
}

/** Checks one contour's type and points and finds its slice and in-plane coordinates. */
function placeContour(
  contour: DicomItem,
  index: number,
  roi: RoiDescription,
  series: CtSeries,
  options: MaskGridOptions,
): PlacedContour {
  const grid = series.volume.grid;
  const where = `contour ${index + 1} of ${describeRoi(roi)}`;
  const type = contour.requireString('ContourGeometricType');
  if (type !== 'CLOSED_PLANAR') {
    // LIMITATION: POINT, OPEN_PLANAR and OPEN_NONPLANAR contours enclose no area, so they cannot
    // form a tumour mask and are rejected rather than skipped. Markers of this kind belong in
    // another ROI of the structure set.
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `RTSTRUCT file: ${where} has ContourGeometricType ${truncateInput(type)}; only CLOSED_PLANAR contours ` +
        'enclose a region. Choose an ROI drawn as closed contours.',
    );
  }
  const data = contour.numbers('ContourData') ?? [];
  if (data.length < 9 || data.length % 3 !== 0) {
    throw rtError(
      `${where} has ${data.length} ContourData values, but a closed contour needs 3 or more (x, y, z) points`,
    );
  }
  const declared = contour.number('NumberOfContourPoints');
  if (declared !== null && declared * 3 !== data.length) {
    throw rtError(
      `${where} declares NumberOfContourPoints ${declared} but ContourData contains ${data.length / 3} points`,
    );
  }

  const [axisI, axisJ, axisK] = grid.axes;
  const points: SlicePoint[] = [];
  const alongNormal: number[] = [];
  for (let offset = 0; offset < data.length; offset += 3) {
    const relative = subtract([data[offset]!, data[offset + 1]!, data[offset + 2]!], grid.originMm);
    points.push({ i: dot(relative, axisI) / grid.spacingMm[0], j: dot(relative, axisJ) / grid.spacingMm[1] });
    alongNormal.push(dot(relative, axisK));
  }

  checkInsideSlice(points, grid, where, options);

  const meanMm = alongNormal.reduce((sum, value) => sum + value, 0) / alongNormal.length;
  const k = Math.round(meanMm / grid.spacingMm[2]);
  const tolerance = maskToleranceMm(grid.spacingMm[2], options);
  const worst = Math.max(...alongNormal.map((value) => Math.abs(value - k * grid.spacingMm[2])));
  const firstPoint: Vec3 = [data[0]!, data[1]!, data[2]!];
  if (k < 0 || k >= grid.dimensions[2] || worst > tolerance) {
    throw new Nqo1Error(
      'ERR_MASK_GEOMETRY',
      `RTSTRUCT file: ${where} (first point ${formatVector(firstPoint)} mm) lies ${meanMm.toFixed(4)} mm along the ` +
        `slice normal from the first CT slice, ${worst.toFixed(4)} mm from the nearest slice plane k=${k} ` +
        `(tolerance ${tolerance.toFixed(4)} mm; the series has slices k=0..${grid.dimensions[2] - 1} every ` +
        `${grid.spacingMm[2].toFixed(4)} mm), so no image of the series lies in its plane. Pass the CT series ` +
        'the structure set was drawn on.',
      { details: { roiNumber: roi.number, contour: index + 1 } },
    );
  }

  for (const image of contour.sequence('ContourImageSequence')) {
    const uid = image.string('ReferencedSOPInstanceUID');
    if (uid === null) continue;
    // A multi-frame CT instance contains several slices, and ReferencedFrameNumber, when given, names one.
    const frameNumber = image.numbers('ReferencedFrameNumber')?.[0] ?? null;
    const referencedSlices = slicesOfImage(series, uid, frameNumber);
    if (referencedSlices.length > 0 && !referencedSlices.includes(k)) {
      throw rtError(
        `${where} lies on CT slice k=${k} by its ContourData but references the image of slice ` +
          `k=${referencedSlices.join(', ')} (${truncateInput(uid)})`,
        { roiNumber: roi.number, contour: index + 1 },
      );
    }
  }
  return { k, points };
}

/** Returns the slices of `series` that come from image `uid` (and frame `frameNumber`, when given). */
function slicesOfImage(series: CtSeries, uid: string, frameNumber: number | null): number[] {
  const slices: number[] = [];
  series.sliceSources.forEach((source, k) => {
    if (source?.sopInstanceUid !== uid) return;
    if (frameNumber === null || source.frameNumber === null || source.frameNumber === frameNumber)
      slices.push(k);
  });
  return slices;
}

/**
 * Requires every point of a contour to lie within the slice: continuous indices in
 * [−0.5, n − 0.5] on both in-plane axes, widened by the mask tolerance. A contour that reaches past
 * the image edge outlines a region the image does not fully show, so its features would be wrong.
 */
function checkInsideSlice(
  points: readonly SlicePoint[],
  grid: Grid,
  where: string,
  options: MaskGridOptions,
): void {
  const slackI = maskToleranceMm(grid.spacingMm[0], options) / grid.spacingMm[0];
  const slackJ = maskToleranceMm(grid.spacingMm[1], options) / grid.spacingMm[1];
  const outside = points.filter(
    (point) =>
      point.i < -0.5 - slackI ||
      point.i > grid.dimensions[0] - 0.5 + slackI ||
      point.j < -0.5 - slackJ ||
      point.j > grid.dimensions[1] - 0.5 + slackJ,
  ).length;
  if (outside === 0) return;
  throw new Nqo1Error(
    'ERR_MASK_GEOMETRY',
    `RTSTRUCT file: ${where} has ${outside} of its ${points.length} points outside the ${grid.dimensions[0]} × ` +
      `${grid.dimensions[1]} image plane, so the region is clipped by the image edge. Pass the CT series the ` +
      'structure set was drawn on, reconstructed with a field of view that contains the ROI.',
    { details: { outsidePoints: outside, points: points.length } },
  );
}

function rasterise(placed: readonly PlacedContour[], roi: RoiDescription, grid: Grid): MaskVolume {
  const [columns, rows, slices] = grid.dimensions;
  const sliceSize = columns * rows;
  const voxels = new Uint8Array(sliceSize * slices);

  const bySlice = new Map<number, SlicePoint[][]>();
  for (const contour of placed) {
    const list = bySlice.get(contour.k) ?? [];
    list.push([...contour.points]);
    bySlice.set(contour.k, list);
  }
  let filled = 0;
  for (const [k, contours] of bySlice) {
    filled += fillContoursEvenOdd(
      voxels.subarray(k * sliceSize, (k + 1) * sliceSize),
      columns,
      rows,
      contours,
    );
  }

  if (filled === 0) {
    throw new Nqo1Error(
      'ERR_MASK_EMPTY',
      `RTSTRUCT file: the ${placed.length} contours of ${describeRoi(roi)} enclose no voxel centre of the CT grid, ` +
        'so its mask is empty. Check that the ROI is the tumour and that it was drawn on this series.',
      { details: { roiNumber: roi.number } },
    );
  }
  return { grid, voxels };
}
