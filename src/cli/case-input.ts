/**
 * Loading of one case from files for the command line.
 *
 * The image is a folder of DICOM CT files, an NRRD volume or a NIfTI volume (.nii, .nii.gz). The
 * mask is one of these:
 * - a DICOM SEG or RTSTRUCT, recognised by the Media Storage SOP Class of the file;
 * - a 3D Slicer segmentation (.seg.nrrd), recognised by its `Segment0_ID` field;
 * - an NRRD or NIfTI label map, resampled onto the image when its grid differs.
 * {@link detectFormat} describes how a file's format is recognised.
 */
import { stat } from 'node:fs/promises';

import { Nqo1Error } from '../errors.js';
import { readCtSeriesFromFolder, type CtSeries, type ReadCtSeriesOptions } from '../imaging/ct-series.js';
import { isDicomPart10, mediaStorageSopClassUid, readDicomFile } from '../imaging/dicom-dataset.js';
import { readInputFile } from '../imaging/input-file.js';
import { readNifti } from '../imaging/nifti.js';
import { isOnImageGrid, maskFromNrrdOnGrid } from '../imaging/nrrd-mask.js';
import { readNrrd, readNrrdLayers } from '../imaging/nrrd.js';
import { prepareCodecs } from '../imaging/prepare-codecs.js';
import { RT_STRUCTURE_SET_STORAGE, readRtStructMask, roiSelectionOf } from '../imaging/rtstruct.js';
import {
  isSlicerSegmentation,
  maskFromSegNrrd,
  readSlicerSegments,
  type SlicerSegmentSelection,
} from '../imaging/seg-nrrd.js';
import { readSegMask, type SegmentSelection } from '../imaging/seg.js';
import type { MaskGridOptions } from '../imaging/mask-on-grid.js';
import type { NrrdLayeredVolume } from '../imaging/nrrd.js';
import type { Grid, ImageVolume, MaskVolume } from '../imaging/volume.js';
import type { CaseReferences } from '../model/analyse.js';

/**
 * Parses a `--segment` value: digits select by SegmentNumber (SEG) or ROINumber (RTSTRUCT), anything
 * else by SegmentLabel or ROIName. For a .seg.nrrd see {@link slicerSelection}.
 */
export function parseSegmentOption(value: string | undefined): SegmentSelection {
  if (value === undefined || value.trim() === '') return {};
  return /^\d+$/.test(value.trim())
    ? { segmentNumber: Number(value.trim()) }
    : { segmentLabel: value.trim() };
}

export interface LoadedCase {
  readonly image: ImageVolume;
  readonly tumour: MaskVolume;
  readonly references: CaseReferences;
  /** Conditions of the input to report with the result: see `ScoreProvenance.warnings`. */
  readonly warnings: readonly string[];
}

type FileFormat = 'nrrd' | 'nifti' | 'dicom' | 'unknown';

/**
 * Recognises a file by its first bytes (NRRD magic, DICOM Part 10 prefix, NIfTI sizeof_hdr of 348 or
 * 540) or by its extension (.nrrd, .nhdr, .nii, .nii.gz).
 */
function detectFormat(path: string, bytes: Uint8Array): FileFormat {
  const name = path.toLowerCase();
  const magic = new TextDecoder('latin1').decode(bytes.subarray(0, 7));
  if (magic === 'NRRD000' || name.endsWith('.nrrd') || name.endsWith('.nhdr')) return 'nrrd';
  if (name.endsWith('.nii') || name.endsWith('.nii.gz')) return 'nifti';
  if (isDicomPart10(bytes)) return 'dicom';
  if (bytes.length >= 4) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, 4);
    const sizes = [view.getInt32(0, true), view.getInt32(0, false)];
    if (sizes.includes(348) || sizes.includes(540)) return 'nifti';
  }
  return 'unknown';
}

function readBytes(path: string, role: string): Promise<Uint8Array> {
  return readInputFile(path, `${role} file ${path}`);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** How the image and mask files of a case are read; every field defaults as in its reader. */
export interface CaseReadOptions {
  /** Series limits and the resampling of tilted or irregular series. */
  readonly series?: ReadCtSeriesOptions;
  /** Mask-to-image tolerance and the FRACTIONAL SEG threshold. */
  readonly mask?: MaskGridOptions & { readonly fractionalThreshold?: number };
}

/**
 * Reads the image and the tumour mask of one case.
 *
 * @param imagePath - A folder of DICOM CT files of one series, an NRRD file or a NIfTI file.
 * @param maskPath - A DICOM SEG or RTSTRUCT (both need a DICOM image), a 3D Slicer .seg.nrrd, or an
 *   NRRD or NIfTI label map (resampled onto the image when its grid differs).
 * @param label - Label value of the tumour in an NRRD or NIfTI label map.
 * @param segment - The tumour segment of a SEG, ROI of an RTSTRUCT or segment of a .seg.nrrd. Without
 *   it, the file must contain only one.
 */
export async function loadCase(
  imagePath: string,
  maskPath: string,
  label: number,
  segment: SegmentSelection = {},
  reading: CaseReadOptions = {},
): Promise<LoadedCase> {
  const { image, series } = await loadImage(imagePath, reading.series ?? {});
  const maskGrid = reading.mask ?? {};
  const maskBytes = await readBytes(maskPath, 'mask');
  const format = detectFormat(maskPath, maskBytes);

  const seriesWarnings = series?.warnings ?? [];
  if (format === 'nrrd' || format === 'nifti') {
    const volume =
      format === 'nrrd'
        ? readNrrdLayers(maskBytes)
        : { ...readNifti(maskBytes), layers: 1, keyValues: new Map<string, string>() };
    let tumour: MaskVolume;
    if (format === 'nrrd' && isSlicerSegmentation(volume)) {
      tumour = maskFromSegNrrd(volume, image.grid, slicerSelection(volume, segment), maskGrid);
    } else if (volume.layers === 1) {
      tumour = maskFromNrrdOnGrid(volume, image.grid, label, maskGrid);
    } else {
      // A 4-D file without Slicer segment fields: readNrrd raises its error for dimension 4.
      tumour = maskFromNrrdOnGrid(readNrrd(maskBytes), image.grid, label, maskGrid);
    }
    const warnings = isOnImageGrid(volume.grid, image.grid, maskGrid)
      ? seriesWarnings
      : [...seriesWarnings, resampledMaskWarning(maskPath, volume.grid, image.grid)];
    return { image, tumour, references: referencesOf(series, null), warnings };
  }

  if (format === 'unknown') {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `Mask ${maskPath} is not a DICOM Part 10 file, an NRRD file or a NIfTI file (checked by its first bytes and ` +
        'its extension). Pass a DICOM SEG or RTSTRUCT, a 3D Slicer .seg.nrrd, or an NRRD or NIfTI label map.',
    );
  }
  if (series === null) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `Mask ${maskPath} is neither NRRD nor NIfTI, so it is read as DICOM SEG or RTSTRUCT, which needs a DICOM ` +
        `image folder, but ${imagePath} is a volume file. Pass an NRRD or NIfTI label map, or the DICOM series.`,
    );
  }
  const buffer = toArrayBuffer(maskBytes);
  await prepareCodecs([maskBytes]);
  if (mediaStorageSopClassUid(maskBytes) === RT_STRUCTURE_SET_STORAGE) {
    const tumour = readRtStructMask(buffer, series, roiSelectionOf(segment), maskGrid);
    const uid = readDicomFile(buffer, `RTSTRUCT file ${maskPath}`).dataset.requireString('SOPInstanceUID');
    return { image, tumour, references: referencesOf(series, uid), warnings: seriesWarnings };
  }
  const tumour = readSegMask(buffer, series, { ...maskGrid, ...segment });
  const uid = readDicomFile(buffer, `SEG file ${maskPath}`).dataset.requireString('SOPInstanceUID');
  return { image, tumour, references: referencesOf(series, uid), warnings: seriesWarnings };
}

/** Describes a label map that was resampled onto the image grid. */
function resampledMaskWarning(maskPath: string, mask: Grid, image: Grid): string {
  const describe = (grid: Grid): string =>
    `${grid.dimensions.join(' × ')} voxels of ${grid.spacingMm.map((value) => value.toFixed(3)).join(' × ')} mm from ` +
    `(${grid.originMm.map((value) => value.toFixed(2)).join(', ')}) mm`;
  return (
    `The label map ${maskPath} lies on another grid (${describe(mask)}) than the image (${describe(image)}), so it was ` +
    'resampled onto the image by nearest neighbour; check that it was drawn on this image.'
  );
}

/** Reads a DICOM series folder, or an NRRD or NIfTI volume file. */
async function loadImage(
  imagePath: string,
  seriesOptions: ReadCtSeriesOptions,
): Promise<{ image: ImageVolume; series: CtSeries | null }> {
  const imageStat = await stat(imagePath).catch((error: unknown) => {
    throw new Nqo1Error('ERR_NOT_FOUND', `Image path ${imagePath} does not exist. Check the path.`, {
      cause: error,
    });
  });
  if (imageStat.isDirectory()) {
    const series = await readCtSeriesFromFolder(imagePath, seriesOptions);
    return { image: series.volume, series };
  }

  const bytes = await readBytes(imagePath, 'image');
  const format = detectFormat(imagePath, bytes);
  if (format === 'nrrd' || format === 'nifti') {
    const volume = format === 'nrrd' ? readNrrd(bytes) : readNifti(bytes);
    return { image: { grid: volume.grid, voxels: volume.voxels }, series: null };
  }
  throw new Nqo1Error(
    'ERR_REQUEST_INVALID',
    `Image path ${imagePath} is neither a folder of DICOM files nor an NRRD or NIfTI (.nii, .nii.gz) file. Pass ` +
      'the series folder (not a single DICOM file) or a volume file.',
  );
}

/**
 * Maps `--segment` onto a .seg.nrrd: text selects by segment ID or name. Digits select the segment
 * whose ID or name is that number, else the one whose LabelValue it is.
 */
function slicerSelection(volume: NrrdLayeredVolume, segment: SegmentSelection): SlicerSegmentSelection {
  if (segment.segmentLabel !== undefined) return { idOrName: segment.segmentLabel };
  if (segment.segmentNumber === undefined) return {};
  const text = String(segment.segmentNumber);
  const named = readSlicerSegments(volume.keyValues).some(
    (candidate) => candidate.id === text || candidate.name.trim() === text,
  );
  return named ? { idOrName: text } : { labelValue: segment.segmentNumber };
}

function referencesOf(series: CtSeries | null, segmentationInstanceUid: string | null): CaseReferences {
  return {
    studyInstanceUid: series?.studyInstanceUid ?? null,
    seriesInstanceUid: series?.seriesInstanceUid ?? null,
    segmentationInstanceUid,
  };
}
