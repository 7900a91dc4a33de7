/**
 * Starting, before a synchronous read, the codecs that can only start asynchronously.
 *
 * The readers (`readCtSeries`, `readSegMask`) decode synchronously. Every codec starts on first use
 * except the JPEG Extended (12-bit) one, whose WebAssembly module starts only asynchronously; the
 * async entry points (the folder reader, the command line, the study analyser) call
 * {@link prepareCodecs} with the files first.
 */

import { preloadJpegExtendedCodec } from './codecs/jpeg-extended.js';
import { isDicomPart10 } from './dicom-dataset.js';
import { fileMetaString } from './file-meta.js';

/** JPEG Extended (process 2 and 4), the transfer syntax whose codec starts asynchronously. */
const JPEG_EXTENDED = '1.2.840.10008.1.2.4.51';

/** Starts the codecs that `files` need and that cannot start on first use; resolves at once otherwise. */
export async function prepareCodecs(files: readonly (ArrayBuffer | Uint8Array)[]): Promise<void> {
  const needsJpegExtended = files.some((file) => {
    const bytes = file instanceof Uint8Array ? file : new Uint8Array(file);
    return isDicomPart10(bytes) && fileMetaString(bytes, 0x0010) === JPEG_EXTENDED;
  });
  if (needsJpegExtended) await preloadJpegExtendedCodec();
}
