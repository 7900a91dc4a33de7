/**
 * The image size declared by a JPEG 2000 codestream, read from its main header before decoding.
 *
 * OpenJPEG (@cornerstonejs/codec-openjpeg 1.3.6) allocates for the size its SIZ marker segment
 * declares before it finds that the data do not fill it. A 7.5 kB SEG whose SIZ declared
 * 512 × 16,712,192 pixels raised the decoding process's peak RSS by 289 MiB before the codec
 * failed (Node 20, AMD EPYC). Comparing the declared size with Rows and Columns first rejects such
 * a frame without the allocation.
 *
 * @see ITU-T T.800 (ISO/IEC 15444-1) annex A.5.1, Image and tile size (SIZ); High-Throughput
 *   JPEG 2000 (ISO/IEC 15444-15) keeps the same main header.
 */

/** SOC (start of codestream) followed by the SIZ marker, the required start of a codestream. */
const SOC_SIZ = [0xff, 0x4f, 0xff, 0x51];

/** Bytes from SOC up to and including Csiz: SOC, SIZ, Lsiz, Rsiz, eight 32-bit sizes, Csiz. */
const SIZ_HEADER_BYTES = 42;

/** The reference grid size of the image area and the number of components. */
export interface Jpeg2000ImageSize {
  readonly width: number;
  readonly height: number;
  readonly components: number;
}

/**
 * Reads width (Xsiz − XOsiz), height (Ysiz − YOsiz) and Csiz from the SIZ marker segment.
 *
 * @returns null when the codestream does not start with SOC and SIZ (for example a JP2 file
 *   wrapped in the fragment), which is left to the codec to judge
 */
export function jpeg2000ImageSize(codestream: Uint8Array): Jpeg2000ImageSize | null {
  if (codestream.length < SIZ_HEADER_BYTES) return null;
  for (let i = 0; i < SOC_SIZ.length; i++) {
    if (codestream[i] !== SOC_SIZ[i]) return null;
  }

  const view = new DataView(codestream.buffer, codestream.byteOffset, codestream.byteLength);
  const xsiz = view.getUint32(8);
  const ysiz = view.getUint32(12);
  const xosiz = view.getUint32(16);
  const yosiz = view.getUint32(20);
  return { width: xsiz - xosiz, height: ysiz - yosiz, components: view.getUint16(40) };
}
