/**
 * Paths of the public test data kept beside the project in `../shared/data`, read in place.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Directory of the shared test data (`<repo>/../shared/data`). */
export const SHARED_DATA_DIR = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

/** The three GE abdominal CT slices of the dcmqi `ct-3slice` case and its liver DICOM SEG. */
export const CT_3SLICE_FILES = ['01.dcm', '02.dcm', '03.dcm'].map((name) =>
  fileURLToPath(new URL(`../../../shared/data/dicom/dcmqi/segmentations/ct-3slice/${name}`, import.meta.url)),
);
export const LIVER_SEG_FILE = fileURLToPath(
  new URL('../../../shared/data/dicom/dcmqi/segmentations/liver.dcm', import.meta.url),
);

/** UIDs of the `ct-3slice` case, read from its files with dcmjs. */
export const CT_3SLICE = {
  studyInstanceUid: '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1',
  ctSeriesInstanceUid: '1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1',
  segSeriesInstanceUid: '1.2.276.0.7230010.3.1.3.0.42154.1458337731.665795',
  segSopInstanceUid: '1.2.276.0.7230010.3.1.4.0.42154.1458337731.665796',
} as const;

/** The three slices of the dcmqi `24x38x3` CT case (38 rows × 24 columns), without their SEG. */
export const CT_24X38X3_FILES = ['IMG0001.dcm', 'IMG0002.dcm', 'IMG0003.dcm'].map((name) =>
  fileURLToPath(
    new URL(`../../../shared/data/dicom/dcmqi/segmentations/24x38x3/image/${name}`, import.meta.url),
  ),
);

/** UIDs of the `24x38x3` case, read from its files with dcmjs. */
export const CT_24X38X3 = {
  studyInstanceUid: '1.2.826.0.1.3680043.2.1125.1.38642757998921184026476030292472423',
  ctSeriesInstanceUid: '1.2.826.0.1.3680043.2.1125.1.9881642883347102869241902700569139',
} as const;

/** The single slice of pydicom's `CT_small.dcm`: a CT study of its own, without segmentation. */
export const CT_SMALL_FILE = fileURLToPath(
  new URL('../../../shared/data/dicom/pydicom/CT_small.dcm', import.meta.url),
);

/** UIDs of `CT_small.dcm`, read from the file with dcmjs. */
export const CT_SMALL = {
  studyInstanceUid: '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322',
} as const;

/** Reads a file into an ArrayBuffer of its own (not a view on a shared Node buffer pool). */
export async function readArrayBuffer(filePath: string): Promise<ArrayBuffer> {
  const bytes = await readFile(filePath);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}
