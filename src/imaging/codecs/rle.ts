/**
 * RLE Lossless decoding (transfer syntax 1.2.840.10008.1.2.5).
 *
 * Written here from the standard because no maintained npm package decodes DICOM RLE on its own
 * (the decoders on npm are parts of viewer bundles). A frame starts with a 64-byte header: the
 * number of byte segments (1 to 15) as a 32-bit little endian integer, then 15 segment offsets
 * from the start of the frame. Each segment is PackBits coded: a header byte n in 0..127 copies the
 * next n + 1 bytes, n in −127..−1 repeats the next byte 1 − n times, and −128 does nothing. For
 * each sample, segment 0 contains the most significant byte of every pixel, segment 1 the next one,
 * and so on.
 *
 * @see DICOM PS3.5 annex G (RLE compression).
 */

import { Nqo1Error } from '../../errors.js';

const HEADER_BYTES = 64;

/**
 * Decodes one RLE frame into its byte segments, each `segmentLength` bytes long.
 *
 * @throws Nqo1Error ERR_DICOM_MALFORMED when the header or a segment is damaged, or a segment decodes
 *   to a length other than `segmentLength`.
 */
export function decodeRleSegments(
  frame: Uint8Array,
  expectedSegments: number,
  segmentLength: number,
  context: string,
): Uint8Array[] {
  if (frame.length < HEADER_BYTES) throw malformed(`the RLE frame has only ${frame.length} bytes`, context);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segmentCount = view.getUint32(0, true);
  if (segmentCount !== expectedSegments) {
    throw malformed(
      `the RLE header lists ${segmentCount} segments, but the header's BitsAllocated and SamplesPerPixel need ` +
        `${expectedSegments}`,
      context,
    );
  }

  const offsets = Array.from({ length: segmentCount }, (_, i) => view.getUint32(4 + 4 * i, true));
  return offsets.map((start, i) => {
    const end = i + 1 < segmentCount ? offsets[i + 1]! : frame.length;
    if (start < HEADER_BYTES || end > frame.length || end < start) {
      throw malformed(`RLE segment ${i + 1} has invalid offsets ${start}..${end}`, context);
    }
    return unpackBits(frame.subarray(start, end), segmentLength, i + 1, context);
  });
}

/** Decodes one PackBits segment; the output must fill `length` bytes exactly (a pad byte may follow). */
function unpackBits(input: Uint8Array, length: number, segment: number, context: string): Uint8Array {
  const output = new Uint8Array(length);
  let read = 0;
  let written = 0;
  while (read < input.length && written < length) {
    const header = input[read++]!;
    if (header < 128) {
      const count = header + 1;
      if (read + count > input.length || written + count > length) break;
      output.set(input.subarray(read, read + count), written);
      read += count;
      written += count;
    } else if (header > 128) {
      const count = 257 - header;
      if (read >= input.length || written + count > length) break;
      output.fill(input[read++]!, written, written + count);
      written += count;
    }
  }
  if (written !== length) {
    throw malformed(`RLE segment ${segment} decodes to ${written} bytes instead of ${length}`, context);
  }
  return output;
}

function malformed(problem: string, context: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_DICOM_MALFORMED',
    `${context}: ${problem}. The compressed pixel data is damaged; retrieve the file again from the PACS.`,
  );
}
