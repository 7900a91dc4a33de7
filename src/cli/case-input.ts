/**
 * Loading of one case from files for the command line. The image is a folder of DICOM CT files or
 * an NRRD volume, and the mask is a DICOM SEG file or an NRRD label map on the image grid.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';

import { Nqo1Error } from '../errors.js';
import { readCtSeriesFromFolder, type CtSeries } from '../imaging/ct-series.js';
import { readDicomFile } from '../imaging/dicom-dataset.js';
import { maskFromNrrdOnGrid } from '../imaging/nrrd-mask.js';
import { readNrrd } from '../imaging/nrrd.js';
import { readSegMask, type SegmentSelection } from '../imaging/seg.js';
import type { ImageVolume, MaskVolume } from '../imaging/volume.js';
import type { CaseReferences } from '../model/analyse.js';

/**
 * Parses a `--segment` value: digits select by SegmentNumber, anything else by SegmentLabel.
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
}

function isNrrdPath(path: string): boolean {
  return ['.nrrd', '.nhdr'].includes(extname(path).toLowerCase());
}

async function readBytes(path: string, role: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new Nqo1Error('ERR_NOT_FOUND', `The ${role} file ${path} could not be read. Check the path.`, {
      cause: error,
    });
  }
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * Reads the image and the tumour mask of one case.
 *
 * @param imagePath - A folder of DICOM CT files of one series, or an NRRD file.
 * @param maskPath - A DICOM SEG file (needs a DICOM image) or an NRRD label map on the image grid.
 * @param label - Label value of the tumour in an NRRD label map.
 * @param segment - Which segment of a DICOM SEG is the tumour; by default the SEG must hold one.
 */
export async function loadCase(
  imagePath: string,
  maskPath: string,
  label: number,
  segment: SegmentSelection = {},
): Promise<LoadedCase> {
  let image: ImageVolume;
  let series: CtSeries | null = null;
  const imageStat = await stat(imagePath).catch((error: unknown) => {
    throw new Nqo1Error('ERR_NOT_FOUND', `Image path ${imagePath} does not exist. Check the path.`, {
      cause: error,
    });
  });

  if (imageStat.isDirectory()) {
    series = await readCtSeriesFromFolder(imagePath);
    image = series.volume;
  } else if (isNrrdPath(imagePath)) {
    const nrrd = readNrrd(await readBytes(imagePath, 'image'));
    image = { grid: nrrd.grid, voxels: nrrd.voxels };
  } else {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `Image path ${imagePath} is neither a folder of DICOM files nor an .nrrd file. Pass the series folder or an NRRD volume.`,
    );
  }

  const maskBytes = await readBytes(maskPath, 'mask');
  if (isNrrdPath(maskPath)) {
    const tumour = maskFromNrrdOnGrid(readNrrd(maskBytes), image.grid, label);
    return { image, tumour, references: referencesOf(series, null) };
  }

  if (series === null) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `Mask ${maskPath} is not NRRD, so it is read as DICOM SEG, which needs a DICOM image folder; ${imagePath} is NRRD. Pass an NRRD label map or the DICOM series.`,
    );
  }
  const segBuffer = toArrayBuffer(maskBytes);
  const tumour = readSegMask(segBuffer, series, segment);
  const segInstanceUid = readDicomFile(segBuffer, `SEG file ${maskPath}`).dataset.requireString(
    'SOPInstanceUID',
  );
  return { image, tumour, references: referencesOf(series, segInstanceUid) };
}

function referencesOf(series: CtSeries | null, segmentationInstanceUid: string | null): CaseReferences {
  return {
    studyInstanceUid: series?.studyInstanceUid ?? null,
    seriesInstanceUid: series?.seriesInstanceUid ?? null,
    segmentationInstanceUid,
  };
}
