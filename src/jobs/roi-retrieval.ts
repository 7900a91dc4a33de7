/**
 * ROI-first retrieval plan: which CT instances of a series the analysis needs, found from the
 * segmentation's frame positions and the series' WADO-RS metadata before any CT pixel is fetched.
 *
 * Slice positions are measured along the slice normal n = row × column of ImageOrientationPatient:
 * z = ImagePositionPatient · n (DICOM PS3.3 section C.7.6.2.1.1). The tumour spans [min z, max z]
 * of the SEG frames (PlanePositionSequence, PS3.3 section C.7.6.16.2.3) or of the RTSTRUCT contour
 * points (ContourData, PS3.3 section C.8.8.6). The plan
 * keeps every CT slice with z in [min z − margin, max z + margin], where
 * margin = dilationMm + one slice spacing, so the dilated tumour and the case crop of
 * `src/model/case-crop.ts` stay strictly inside the retrieved slices and the features equal those
 * of the whole series.
 *
 * Any case this reasoning does not cover gets a whole-series plan with the reason, and the caller
 * retrieves the series as before. These cases are: missing positions or SOP Instance UIDs,
 * multi-frame (Enhanced) CT, several orientations, a tilted or sheared stack, irregular spacing,
 * duplicate positions, SEG frames without a plane position, SEG frames or contour points off the CT
 * slices, and a widened ROI
 * that spans every slice anyway.
 */
import type { DicomJsonDataset } from '../dicomweb/client.js';
import { Nqo1Error } from '../errors.js';
import { readDicomFile } from '../imaging/dicom-dataset.js';
import { FrameGroups } from '../imaging/functional-groups.js';
import {
  GEOMETRY_TOLERANCE,
  dot,
  orientationFromIop,
  positionToleranceMm,
  subtract,
  vectorsAgree,
  type SliceOrientation,
} from '../imaging/slice-geometry.js';
import type { Vec3 } from '../imaging/volume.js';

/** The CT instances to retrieve, in slice order, or the reason to retrieve the whole series. */
export type RetrievalPlan =
  | {
      readonly path: 'roi';
      /** SOP Instance UIDs of the contiguous slices within the widened extent, by increasing z. */
      readonly sopInstanceUids: readonly string[];
      readonly seriesInstanceCount: number;
      /**
       * Mean slice step of the whole series, (z_last − z_first) / (n − 1), as `readCtSeries`
       * computes it from the complete series; pass it as its `sliceStepMm` option.
       */
      readonly sliceStepMm: number;
      /** The widened extent along the slice normal, [lower, upper] in mm. */
      readonly extentMm: readonly [number, number];
    }
  | { readonly path: 'whole-series'; readonly reason: string };

/**
 * The location of the tumour outline: the frame positions and orientation of a SEG, or the contour points
 * of an RTSTRUCT. Read from the file without decoding pixel data or rasterising contours.
 */
export type TumourGeometry =
  | {
      readonly source: 'SEG';
      /** ImageOrientationPatient of every frame (all frames must agree), or null when any frame lacks it. */
      readonly orientation: readonly number[] | null;
      /** ImagePositionPatient of each frame; null when any frame has no PlanePositionSequence. */
      readonly positionsMm: readonly Vec3[] | null;
    }
  | {
      readonly source: 'RTSTRUCT';
      /** Every ContourData point of every ROI; null when the structure set has none. */
      readonly positionsMm: readonly Vec3[] | null;
    };

/** One CT instance from WADO-RS metadata. */
interface CtInstanceGeometry {
  readonly sopInstanceUid: string;
  readonly positionMm: Vec3;
  readonly orientation: readonly number[];
}

/** DICOM JSON tags (PS3.18 annex F.2) read from the CT metadata. */
const TAG = {
  sopInstanceUid: '00080018',
  imagePositionPatient: '00200032',
  imageOrientationPatient: '00200037',
  numberOfFrames: '00280008',
} as const;

/**
 * Reads the plane position and orientation of every SEG frame. A frame without PlanePositionSequence
 * makes `positionsMm` null: such a frame is placed by its source image reference only.
 *
 * @throws Nqo1Error from `readDicomFile` when the file is not a readable DICOM file.
 */
export function readSegFrameGeometry(
  segFile: ArrayBuffer,
): Extract<TumourGeometry, { readonly source: 'SEG' }> {
  const dataset = readDicomFile(segFile, 'SEG file').dataset;
  const shared = dataset.sequence('SharedFunctionalGroupsSequence')[0] ?? null;
  const positions: Vec3[] = [];
  let orientation: readonly number[] | null = null;
  let orientationsAgree = true;
  let positionsComplete = true;
  for (const perFrame of dataset.sequence('PerFrameFunctionalGroupsSequence')) {
    const groups = new FrameGroups(perFrame, shared);
    const position = groups.item('PlanePositionSequence')?.numbers('ImagePositionPatient', 3) ?? null;
    const frameOrientation =
      groups.item('PlaneOrientationSequence')?.numbers('ImageOrientationPatient', 6) ?? null;
    if (position === null) positionsComplete = false;
    else positions.push([position[0]!, position[1]!, position[2]!]);
    if (frameOrientation === null) orientationsAgree = false;
    else if (orientation === null) orientation = frameOrientation;
    else if (!vectorsAgree(orientation, frameOrientation, GEOMETRY_TOLERANCE.directionCosine)) {
      orientationsAgree = false;
    }
  }
  return {
    source: 'SEG',
    orientation: orientationsAgree ? orientation : null,
    positionsMm: positionsComplete && positions.length > 0 ? positions : null,
  };
}

/**
 * Reads the points of every contour of every ROI of an RT Structure Set (ROIContourSequence,
 * ContourSequence, ContourData; DICOM PS3.3 section C.8.8.6). Every ROI counts, not only the one
 * the analysis reads, so the extent may be wider than the tumour's but never narrower.
 *
 * @throws Nqo1Error from `readDicomFile` when the file is not a readable DICOM file.
 */
export function readRtStructContourPoints(
  rtStructFile: ArrayBuffer,
): Extract<TumourGeometry, { readonly source: 'RTSTRUCT' }> {
  const dataset = readDicomFile(rtStructFile, 'RTSTRUCT file').dataset;
  const points: Vec3[] = [];
  for (const roiContour of dataset.sequence('ROIContourSequence')) {
    for (const contour of roiContour.sequence('ContourSequence')) {
      const data = contour.numbers('ContourData') ?? [];
      for (let offset = 0; offset + 2 < data.length; offset += 3) {
        points.push([data[offset]!, data[offset + 1]!, data[offset + 2]!]);
      }
    }
  }
  return { source: 'RTSTRUCT', positionsMm: points.length > 0 ? points : null };
}

/**
 * Reads the tumour geometry of a segmentation file: the contour points of an RTSTRUCT, and the frame
 * positions of any other modality, read as a DICOM SEG.
 *
 * @throws Nqo1Error from `readDicomFile` when the file is not a readable DICOM file.
 */
export function readTumourGeometry(segModality: string, segFile: ArrayBuffer): TumourGeometry {
  return segModality === 'RTSTRUCT' ? readRtStructContourPoints(segFile) : readSegFrameGeometry(segFile);
}

/**
 * Plans the CT instances to retrieve for a tumour outlined by SEG frames or RTSTRUCT contours, dilated by
 * `dilationMm`, from the series' WADO-RS metadata (one dataset per instance).
 */
export function planRoiRetrieval(
  ctMetadata: readonly DicomJsonDataset[],
  tumour: TumourGeometry,
  dilationMm: number,
): RetrievalPlan {
  const instances = readCtGeometry(ctMetadata);
  if (typeof instances === 'string') return wholeSeries(instances);
  if (tumour.positionsMm === null) {
    return wholeSeries(
      tumour.source === 'SEG'
        ? 'a SEG frame has no PlanePositionSequence'
        : 'the RTSTRUCT has no contour point',
    );
  }
  if (tumour.source === 'SEG' && tumour.orientation === null) {
    return wholeSeries('the SEG frames lack one common ImageOrientationPatient');
  }

  const first = instances[0]!;
  if (
    !instances.every((item) =>
      vectorsAgree(item.orientation, first.orientation, GEOMETRY_TOLERANCE.directionCosine),
    )
  ) {
    return wholeSeries('the CT instances have several orientations');
  }
  if (
    tumour.source === 'SEG' &&
    !vectorsAgree(tumour.orientation!, first.orientation, GEOMETRY_TOLERANCE.directionCosine)
  ) {
    return wholeSeries('the SEG orientation differs from the CT orientation');
  }
  let orientation: SliceOrientation;
  try {
    orientation = orientationFromIop(first.orientation, 'CT metadata');
  } catch (error) {
    if (error instanceof Nqo1Error) return wholeSeries('the CT ImageOrientationPatient is not orthonormal');
    throw error;
  }

  const slices = instances
    .map((item) => ({ ...item, zMm: dot(item.positionMm, orientation.normal) }))
    .sort((a, b) => a.zMm - b.zMm);
  const stack = checkStack(slices, orientation);
  if (typeof stack === 'string') return wholeSeries(stack);

  const tolerance = positionToleranceMm(stack.spacingMm);
  const tumourZ = tumour.positionsMm.map((position) => dot(position, orientation.normal));
  const offSlice = tumourZ.find((z) => !slices.some((slice) => Math.abs(slice.zMm - z) <= tolerance));
  if (offSlice !== undefined) {
    const what = tumour.source === 'SEG' ? 'a SEG frame' : 'an RTSTRUCT contour point';
    return wholeSeries(`${what} at z = ${offSlice.toFixed(3)} mm lies on no CT slice`);
  }

  const marginMm = dilationMm + stack.spacingMm;
  // A reduction, not Math.min(...), since an RTSTRUCT may have more points than a call takes arguments.
  const lower = tumourZ.reduce((min, z) => Math.min(min, z), Infinity) - marginMm;
  const upper = tumourZ.reduce((max, z) => Math.max(max, z), -Infinity) + marginMm;
  const retrieved = slices.filter(
    (slice) => slice.zMm >= lower - tolerance && slice.zMm <= upper + tolerance,
  );
  if (retrieved.length === slices.length)
    return wholeSeries('the widened ROI spans every slice of the series');
  return {
    path: 'roi',
    sopInstanceUids: retrieved.map((slice) => slice.sopInstanceUid),
    seriesInstanceCount: slices.length,
    sliceStepMm: (slices[slices.length - 1]!.zMm - slices[0]!.zMm) / (slices.length - 1),
    extentMm: [lower, upper],
  };
}

function wholeSeries(reason: string): RetrievalPlan {
  return { path: 'whole-series', reason };
}

/** Reads each instance's UID, position and orientation, or returns why the metadata cannot be used. */
function readCtGeometry(ctMetadata: readonly DicomJsonDataset[]): CtInstanceGeometry[] | string {
  if (ctMetadata.length < 2) return `the CT metadata lists ${ctMetadata.length} instances`;
  const instances: CtInstanceGeometry[] = [];
  for (const item of ctMetadata) {
    const frames = numbersOf(item, TAG.numberOfFrames);
    if (frames !== null && frames.length === 1 && frames[0]! > 1) {
      return 'the CT series has multi-frame instances (Enhanced CT)';
    }
    const uid = item[TAG.sopInstanceUid]?.Value?.[0];
    const position = numbersOf(item, TAG.imagePositionPatient);
    const orientation = numbersOf(item, TAG.imageOrientationPatient);
    if (typeof uid !== 'string' || uid === '') return 'a CT instance has no SOPInstanceUID in its metadata';
    if (position?.length !== 3) return 'a CT instance has no ImagePositionPatient in its metadata';
    if (orientation?.length !== 6) return 'a CT instance has no ImageOrientationPatient in its metadata';
    instances.push({
      sopInstanceUid: uid,
      positionMm: [position[0]!, position[1]!, position[2]!],
      orientation,
    });
  }
  return instances;
}

/**
 * Checks that the sorted slices form one regular stack along the normal: distinct positions, equal
 * gaps, and no shift within the plane (a gantry tilt or sheared stack would shift it).
 */
function checkStack(
  slices: readonly (CtInstanceGeometry & { readonly zMm: number })[],
  orientation: SliceOrientation,
): { readonly spacingMm: number } | string {
  const first = slices[0]!;
  const spacingMm = slices[1]!.zMm - first.zMm;
  const tolerance = positionToleranceMm(spacingMm);
  if (!(spacingMm > tolerance)) return 'two CT instances share one slice position';
  for (let index = 1; index < slices.length; index++) {
    const slice = slices[index]!;
    const gap = slice.zMm - slices[index - 1]!.zMm;
    if (Math.abs(gap - spacingMm) > tolerance) {
      return `the slice spacing is irregular (${gap.toFixed(3)} mm after ${spacingMm.toFixed(3)} mm)`;
    }
    const offset = subtract(slice.positionMm, first.positionMm);
    if (
      Math.abs(dot(offset, orientation.row)) > tolerance ||
      Math.abs(dot(offset, orientation.column)) > tolerance
    ) {
      return 'the slices shift within their plane (tilted or sheared stack)';
    }
  }
  return { spacingMm };
}

/** Reads a numeric attribute of DICOM JSON; DS and IS values may arrive as numbers or strings. */
function numbersOf(item: DicomJsonDataset, tag: string): number[] | null {
  const values = item[tag]?.Value;
  if (values === undefined || values.length === 0) return null;
  const numbers = values.map((value) => (typeof value === 'string' ? Number(value.trim()) : value));
  return numbers.every((value): value is number => typeof value === 'number' && Number.isFinite(value))
    ? numbers
    : null;
}
