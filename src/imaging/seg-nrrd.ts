/**
 * 3D Slicer segmentations (`.seg.nrrd`): the `Segment<N>_*` key/value fields and the mask of one
 * segment.
 *
 * Slicer stores segment N's identity in `Segment<N>_ID` and `Segment<N>_Name`, and where its voxels
 * are in `Segment<N>_Layer` and `Segment<N>_LabelValue`. A 3-D file has one layer, so a segment is
 * the voxels equal to its LabelValue. A 4-D file has a leading non-spatial axis of layers, and
 * segments that overlap sit in different layers: a segment is then the voxels of its Layer equal to
 * its LabelValue, so two overlapping segments can both contain a voxel.
 */

import { Nqo1Error, isNqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import { maskFromNrrdOnGrid } from './nrrd-mask.js';

import type { MaskGridOptions } from './mask-on-grid.js';
import type { NrrdLayeredVolume } from './nrrd.js';
import type { Grid, MaskVolume } from './volume.js';

/** One segment described by the `Segment<N>_*` fields. */
export interface SlicerSegment {
  /** N of the `Segment<N>_` prefix, from 0. */
  readonly index: number;
  readonly id: string;
  readonly name: string;
  readonly labelValue: number;
  readonly layer: number;
}

/** Choice of the segment to read. With neither field, the file must contain exactly one segment. */
export interface SlicerSegmentSelection {
  /** Compared with Segment<N>_ID exactly, and with Segment<N>_Name ignoring case and surrounding spaces. */
  readonly idOrName?: string;
  /** Segment<N>_LabelValue; in a layered file it must still pick one segment. */
  readonly labelValue?: number;
}

/** Returns true when the header has the fields of a 3D Slicer segmentation. */
export function isSlicerSegmentation(volume: NrrdLayeredVolume): boolean {
  return volume.keyValues.has('Segment0_ID');
}

function segNrrdError(problem: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_NRRD_MALFORMED',
    `Slicer segmentation: ${problem}. Save the segmentation again from 3D Slicer.`,
  );
}

/**
 * Lists the segments of the `Segment<N>_*` fields, N = 0, 1, ... until `Segment<N>_ID` is absent.
 * A missing Layer is taken as 0, so a file without Layer fields reads as one layer.
 *
 * @throws Nqo1Error ERR_NRRD_MALFORMED when a LabelValue or Layer is missing or not an integer.
 */
export function readSlicerSegments(keyValues: ReadonlyMap<string, string>): readonly SlicerSegment[] {
  const segments: SlicerSegment[] = [];
  for (let index = 0; keyValues.has(`Segment${index}_ID`); index++) {
    const field = (name: string): string | undefined => keyValues.get(`Segment${index}_${name}`)?.trim();
    const integer = (name: string, fallback: number | null): number => {
      const text = field(name);
      if (text === undefined && fallback !== null) return fallback;
      const value = Number(text);
      if (text === undefined || text === '' || !Number.isInteger(value) || value < 0) {
        throw segNrrdError(
          `Segment${index}_${name} is "${truncateInput(String(text))}", not a non-negative integer`,
        );
      }
      return value;
    };
    segments.push({
      index,
      id: field('ID') ?? '',
      name: field('Name') ?? '',
      labelValue: integer('LabelValue', null),
      layer: integer('Layer', 0),
    });
  }
  return segments;
}

function describeSegment(segment: SlicerSegment): string {
  return `"${truncateInput(segment.name)}" (ID ${truncateInput(segment.id)}, layer ${segment.layer}, label ${segment.labelValue})`;
}

/**
 * Returns the segment to read. Without a selection, a file with several segments is an error rather
 * than a silent choice, because reading an organ instead of the tumour would give plausible but
 * wrong features.
 *
 * @throws Nqo1Error ERR_SEGMENT_SELECTION listing the segments when none or several match.
 */
export function selectSlicerSegment(
  segments: readonly SlicerSegment[],
  selection: SlicerSegmentSelection,
): SlicerSegment {
  let candidates = segments;
  if (selection.idOrName !== undefined) {
    const requested = selection.idOrName.trim();
    const byId = candidates.filter((segment) => segment.id === requested);
    candidates =
      byId.length > 0
        ? byId
        : candidates.filter((segment) => segment.name.trim().toLowerCase() === requested.toLowerCase());
  }
  if (selection.labelValue !== undefined) {
    candidates = candidates.filter((segment) => segment.labelValue === selection.labelValue);
  }
  const chosen = candidates[0];
  if (candidates.length === 1 && chosen !== undefined) return chosen;

  const requested: string[] = [];
  if (selection.idOrName !== undefined) requested.push(`ID or name "${truncateInput(selection.idOrName)}"`);
  if (selection.labelValue !== undefined) requested.push(`label value ${selection.labelValue}`);
  const problem =
    requested.length === 0
      ? `no segment was chosen and the file contains ${segments.length} segments`
      : `${candidates.length === 0 ? 'no segment matches' : `${candidates.length} segments match`} ${requested.join(' and ')}`;
  throw new Nqo1Error(
    'ERR_SEGMENT_SELECTION',
    `Slicer segmentation: ${problem}. It contains ${segments.map(describeSegment).join(', ')}; choose one by ID or name (--segment on the command line).`,
    { details: { segments: segments.length } },
  );
}

/**
 * Reads one segment of a `.seg.nrrd` (decoded with `readNrrdLayers`) as a 0/1 mask on `grid`: the
 * voxels of the segment's layer equal to its LabelValue, put on the grid by `maskFromNrrdOnGrid`.
 *
 * @throws Nqo1Error ERR_SEGMENT_SELECTION when no single segment matches; ERR_NRRD_MALFORMED when
 *   a segment's Layer is outside the file; ERR_MASK_EMPTY naming the segment when it has no voxel;
 *   ERR_MASK_GEOMETRY as `maskFromNrrdOnGrid` raises it.
 */
export function maskFromSegNrrd(
  volume: NrrdLayeredVolume,
  grid: Grid,
  selection: SlicerSegmentSelection = {},
  options: MaskGridOptions = {},
): MaskVolume {
  const segments = readSlicerSegments(volume.keyValues);
  if (segments.length === 0) {
    throw segNrrdError('the header has no Segment0_ID field, so it describes no segment');
  }
  const segment = selectSlicerSegment(segments, selection);
  if (segment.layer >= volume.layers) {
    throw segNrrdError(
      `segment ${describeSegment(segment)} is in layer ${segment.layer}, but the file has ${volume.layers} layers`,
    );
  }

  const spatialCount = volume.voxels.length / volume.layers;
  const layerVoxels = new Float64Array(spatialCount);
  for (let index = 0; index < spatialCount; index++) {
    layerVoxels[index] = volume.voxels[segment.layer + volume.layers * index]!;
  }

  try {
    return maskFromNrrdOnGrid(
      { grid: volume.grid, voxels: layerVoxels, type: volume.type },
      grid,
      segment.labelValue,
      options,
    );
  } catch (error) {
    if (!isNqo1Error(error, 'ERR_MASK_EMPTY')) throw error;
    throw new Nqo1Error(
      'ERR_MASK_EMPTY',
      `Slicer segmentation: segment ${describeSegment(segment)} contains no voxel. Choose the segment of the ` +
        'tumour, or draw it and save the segmentation again.',
      { cause: error, details: { segmentIndex: segment.index } },
    );
  }
}
