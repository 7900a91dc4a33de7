/**
 * Builders of small DICOM Part 10 files in explicit VR little endian, for tests that need a hostile
 * header no shared file has.
 */

/** Encodes one element with a 2-byte length (VRs such as UI, CS, LO, US). Odd text gets a pad byte. */
export function shortElement(group: number, element: number, vr: string, value: string): Uint8Array {
  const text = new TextEncoder().encode(
    value.length % 2 === 0 ? value : `${value}${vr === 'UI' ? '\0' : ' '}`,
  );
  const bytes = new Uint8Array(8 + text.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, group, true);
  view.setUint16(2, element, true);
  bytes.set(new TextEncoder().encode(vr), 4);
  view.setUint16(6, text.length, true);
  bytes.set(text, 8);
  return bytes;
}

/**
 * Builds a Part 10 file: 128-byte preamble, "DICM", (0002,0000), (0002,0010) with
 * `transferSyntaxUid`, then `datasetBytes` as they are (already deflated for a deflated syntax).
 */
export function part10(transferSyntaxUid: string, datasetBytes: Uint8Array): ArrayBuffer {
  const syntaxElement = shortElement(0x0002, 0x0010, 'UI', transferSyntaxUid);

  const groupLength = new Uint8Array(12);
  const groupView = new DataView(groupLength.buffer);
  groupView.setUint16(0, 0x0002, true);
  groupView.setUint16(2, 0x0000, true);
  groupLength.set(new TextEncoder().encode('UL'), 4);
  groupView.setUint16(6, 4, true);
  groupView.setUint32(8, syntaxElement.length, true);

  const file = new Uint8Array(132 + groupLength.length + syntaxElement.length + datasetBytes.length);
  file.set(new TextEncoder().encode('DICM'), 128);
  file.set(groupLength, 132);
  file.set(syntaxElement, 144);
  file.set(datasetBytes, 144 + syntaxElement.length);
  return file.buffer;
}

/** Concatenates encoded elements into one dataset; they must be in ascending tag order. */
export function dataset(...elements: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(elements.reduce((total, element) => total + element.length, 0));
  let offset = 0;
  for (const element of elements) {
    bytes.set(element, offset);
    offset += element.length;
  }
  return bytes;
}
