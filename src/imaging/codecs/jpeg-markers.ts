/**
 * A structural check of a JPEG codestream (ITU-T T.81 annex B), for decoders that do not check it
 * themselves. jpeg-lossless-decoder-js decodes damaged entropy-coded data into wrong pixels
 * without an error, while damage that crosses a byte boundary usually leaves a byte pair that no
 * valid codestream can hold.
 *
 * Rules checked: the stream starts with SOI (FFD8). Each marker segment's length fits in the stream.
 * Inside entropy-coded data an FF byte is followed by a stuffed 00, a restart marker RST0–RST7
 * (FFD0–FFD7) or a fill FF; any other byte after FF starts a marker, which must be one that may
 * follow a scan (DHT, DQT, DRI, DNL, SOS, COM, APPn or EOI). The stream must reach EOI (FFD9).
 */

/** Markers that may appear between or after scans (T.81 table B.1). */
function mayFollowScan(marker: number): boolean {
  return (
    marker === 0xc4 || // DHT
    marker === 0xdb || // DQT
    marker === 0xdd || // DRI
    marker === 0xdc || // DNL
    marker === 0xda || // SOS
    marker === 0xfe || // COM
    (marker >= 0xe0 && marker <= 0xef) // APPn
  );
}

/**
 * Returns null when the codestream has a valid marker structure up to EOI, or the first problem.
 */
export function jpegStructureProblem(codestream: Uint8Array): string | null {
  if (codestream[0] !== 0xff || codestream[1] !== 0xd8) return 'it does not start with SOI (FFD8)';

  let offset = 2;
  let inScan = false;
  while (offset < codestream.length) {
    if (inScan) {
      const byte = codestream[offset]!;
      if (byte !== 0xff) {
        offset++;
        continue;
      }
      const next = codestream[offset + 1];
      if (next === undefined) break;
      if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) {
        offset += next === 0xff ? 1 : 2;
        continue;
      }
      if (next === 0xd9) return null;
      if (!mayFollowScan(next)) {
        return `byte pair FF${hex(next)} at offset ${offset} is no marker that may follow a scan`;
      }
      inScan = false;
      continue;
    }

    if (codestream[offset] !== 0xff)
      return `offset ${offset} holds ${hex(codestream[offset]!)} where a marker must start`;
    const marker = codestream[offset + 1];
    if (marker === undefined) break;
    if (marker === 0xff) {
      offset++;
      continue;
    }
    if (marker === 0xd9) return null;
    if (offset + 4 > codestream.length) break;
    const length = (codestream[offset + 2]! << 8) | codestream[offset + 3]!;
    if (length < 2 || offset + 2 + length > codestream.length) {
      return `the segment of marker FF${hex(marker)} at offset ${offset} declares ${length} bytes, beyond the stream`;
    }
    offset += 2 + length;
    if (marker === 0xda) inScan = true;
  }
  return 'it ends before EOI (FFD9)';
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}
