/**
 * Text in DICOM objects whose Specific Character Set (0008,0005) uses ISO/IEC 2022 code extensions,
 * such as `\ISO 2022 IR 58` (GB 2312, used by some Chinese modalities), `ISO 2022 IR 6\ISO 2022 IR 87`
 * (Japanese) or `\ISO 2022 IR 149` (Korean).
 *
 * dcmjs 0.51.1 decodes a single character set but rejects several, so such a file would not be read
 * at all. The fallback blanks the Specific Character Set value in a copy of the file, so that dcmjs
 * decodes every text byte as windows-1252, which maps each byte to its own code point. Each string
 * read from the dataset is then turned back into its bytes and decoded here, switching character
 * sets at each escape sequence.
 *
 * @see DICOM PS3.5 sections 6.1.2.4 and 6.1.2.5 (code extension techniques) and annexes H, I and J
 *   (Japanese, Korean and Chinese examples).
 */

import { fileMetaEnd } from './file-meta.js';

/** A copy of the file that dcmjs can parse, and the decoder for the strings it yields. */
export interface CharacterSetFallback {
  readonly bytes: ArrayBuffer;
  /** The defined terms of Specific Character Set as stored, e.g. `['', 'ISO 2022 IR 58']`. */
  readonly terms: readonly string[];
  /** Decodes a string that dcmjs read as windows-1252. */
  readonly decodeText: (text: string) => string;
}

const ESC = 0x1b;

/** CR, LF, FF, TAB, `^` and `=`: bytes before which the initial character sets are active again. */
const DELIMITERS: ReadonlySet<number> = new Set([0x0d, 0x0a, 0x0c, 0x09, 0x5e, 0x3d]);

/** A coded character set reachable by an escape sequence, and the WHATWG decoder for its bytes. */
interface CodedCharacterSet {
  /** Escape sequence bytes after ESC, as text. */
  readonly escape: string;
  /** The element (G0 for 7-bit bytes, G1 for bytes with the high bit set) it is invoked into. */
  readonly element: 'G0' | 'G1';
  /** WHATWG encoding label, or null for ASCII. */
  readonly decoder: string | null;
}

/**
 * The code elements of each ISO 2022 defined term (PS3.3 table C.12-3 and C.12-4). A term with a G1
 * set also keeps ASCII in G0.
 */
const CODE_ELEMENTS: ReadonlyMap<string, readonly CodedCharacterSet[]> = new Map([
  ['ISO 2022 IR 6', [{ escape: '(B', element: 'G0', decoder: null }]],
  ['ISO 2022 IR 100', [{ escape: '-A', element: 'G1', decoder: 'iso-8859-1' }]],
  ['ISO 2022 IR 101', [{ escape: '-B', element: 'G1', decoder: 'iso-8859-2' }]],
  ['ISO 2022 IR 109', [{ escape: '-C', element: 'G1', decoder: 'iso-8859-3' }]],
  ['ISO 2022 IR 110', [{ escape: '-D', element: 'G1', decoder: 'iso-8859-4' }]],
  ['ISO 2022 IR 144', [{ escape: '-L', element: 'G1', decoder: 'iso-8859-5' }]],
  ['ISO 2022 IR 127', [{ escape: '-G', element: 'G1', decoder: 'iso-8859-6' }]],
  ['ISO 2022 IR 126', [{ escape: '-F', element: 'G1', decoder: 'iso-8859-7' }]],
  ['ISO 2022 IR 138', [{ escape: '-H', element: 'G1', decoder: 'iso-8859-8' }]],
  ['ISO 2022 IR 148', [{ escape: '-M', element: 'G1', decoder: 'iso-8859-9' }]],
  ['ISO 2022 IR 166', [{ escape: '-T', element: 'G1', decoder: 'windows-874' }]],
  [
    'ISO 2022 IR 13',
    [
      { escape: ')I', element: 'G1', decoder: 'shift_jis' },
      { escape: '(J', element: 'G0', decoder: null },
    ],
  ],
  ['ISO 2022 IR 87', [{ escape: '$B', element: 'G0', decoder: 'iso-2022-jp' }]],
  ['ISO 2022 IR 149', [{ escape: '$)C', element: 'G1', decoder: 'euc-kr' }]],
  ['ISO 2022 IR 58', [{ escape: '$)A', element: 'G1', decoder: 'gbk' }]],
]);

/** Every escape sequence this decoder maps, longest first so that `$)A` wins over a prefix. */
const ESCAPES: readonly CodedCharacterSet[] = [...CODE_ELEMENTS.values()]
  .flat()
  .sort((a, b) => b.escape.length - a.escape.length);

/** Bytes of windows-1252 text, by code point: the inverse of TextDecoder('latin1'). */
const WINDOWS_1252_BYTE = ((): ReadonlyMap<number, number> => {
  const text = new TextDecoder('latin1').decode(Uint8Array.from({ length: 256 }, (_, byte) => byte));
  // Every windows-1252 character lies in the Basic Multilingual Plane, one UTF-16 unit each.
  return new Map(Array.from({ length: 256 }, (_, byte) => [text.charCodeAt(byte), byte] as const));
})();

/**
 * Returns a parseable copy of `file` when its Specific Character Set uses ISO 2022 code extensions,
 * else null (the file is then parsed as it is).
 *
 * Only the explicit and implicit VR little endian and explicit VR big endian transfer syntaxes are
 * looked at; a deflated file is left to dcmjs.
 */
export function characterSetFallback(
  file: Uint8Array,
  transferSyntaxUid: string,
): CharacterSetFallback | null {
  const element = findSpecificCharacterSet(file, transferSyntaxUid);
  if (element === null) return null;

  const stored = new TextDecoder('latin1').decode(
    file.subarray(element.valueOffset, element.valueOffset + element.length),
  );
  const terms = stored.split('\\').map((term) => term.trim());
  if (!terms.some((term) => term.startsWith('ISO 2022'))) return null;

  const copy = file.slice();
  copy.fill(0x20, element.valueOffset, element.valueOffset + element.length);
  const firstTerm = terms[0] ?? '';
  return {
    bytes: copy.buffer,
    terms,
    decodeText: (text) => decodeIso2022(windows1252Bytes(text), firstTerm),
  };
}

/**
 * Decodes bytes that may switch character sets with ISO 2022 escape sequences.
 *
 * Decoding starts with ASCII in G0 and the sets of the first defined term (`firstTerm`, such as
 * `ISO 2022 IR 100`; empty for the default repertoire) invoked. Bytes
 * below 0x80 are decoded with the G0 set and bytes from 0x80 with the G1 set. The initial sets are
 * restored at CR, LF, FF, TAB and the person name delimiters `^` and `=`, where PS3.5 section
 * 6.1.2.5.3 requires the encoder to have switched back. An escape sequence this decoder does not
 * know is kept as U+FFFD, so an unreadable name stays visibly unreadable rather than wrong.
 */
export function decodeIso2022(bytes: Uint8Array, firstTerm = ''): string {
  const initial = CODE_ELEMENTS.get(firstTerm) ?? [];
  const initialG0 = initial.find((set) => set.element === 'G0')?.decoder ?? null;
  const initialG1 = initial.find((set) => set.element === 'G1')?.decoder ?? 'iso-8859-1';
  let g0: string | null = initialG0;
  let g1: string = initialG1;
  let text = '';
  let run: number[] = [];
  let runDecoder: string | null = null;

  const flush = (): void => {
    if (run.length > 0) text += decodeRun(Uint8Array.from(run), runDecoder);
    run = [];
  };

  for (let offset = 0; offset < bytes.length; offset++) {
    const byte = bytes[offset]!;
    if (byte === ESC) {
      flush();
      const rest = new TextDecoder('latin1').decode(bytes.subarray(offset + 1, offset + 4));
      const set = ESCAPES.find((candidate) => rest.startsWith(candidate.escape));
      if (set === undefined) {
        text += '\uFFFD';
        continue;
      }
      if (set.element === 'G0') g0 = set.decoder;
      else g1 = set.decoder ?? 'iso-8859-1';
      offset += set.escape.length;
      continue;
    }

    const decoder = byte < 0x80 ? g0 : g1;
    if (decoder !== runDecoder) {
      flush();
      runDecoder = decoder;
    }
    run.push(byte);
    // In a two-byte G0 set such as JIS X 0208, 0x5E and 0x3D are halves of characters, not delimiters.
    if (decoder === null && DELIMITERS.has(byte)) {
      flush();
      g0 = initialG0;
      g1 = initialG1;
      runDecoder = null;
    }
  }
  flush();
  return text;
}

/** Decodes one run of bytes of a single coded character set. */
function decodeRun(bytes: Uint8Array, decoder: string | null): string {
  if (decoder === null) return String.fromCharCode(...bytes);
  if (decoder === 'iso-2022-jp') {
    // The WHATWG ISO-2022-JP decoder needs the escape sequences around the two-byte codes.
    const wrapped = Uint8Array.from([ESC, 0x24, 0x42, ...bytes, ESC, 0x28, 0x42]);
    return new TextDecoder(decoder).decode(wrapped);
  }
  return new TextDecoder(decoder).decode(bytes);
}

/** Turns text that dcmjs decoded as windows-1252 back into its bytes. */
function windows1252Bytes(text: string): Uint8Array {
  return Uint8Array.from(
    { length: text.length },
    (_, index) => WINDOWS_1252_BYTE.get(text.charCodeAt(index)) ?? 0x3f,
  );
}

/** Position of the Specific Character Set value in the file, or null when it is absent. */
function findSpecificCharacterSet(
  file: Uint8Array,
  transferSyntaxUid: string,
): { valueOffset: number; length: number } | null {
  const littleEndian = transferSyntaxUid !== '1.2.840.10008.1.2.2';
  const explicitVr = transferSyntaxUid !== '1.2.840.10008.1.2';
  if (transferSyntaxUid === '1.2.840.10008.1.2.1.99') return null;

  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let offset = fileMetaEnd(file);
  // Only (0008,0000) to (0008,0004) can come before (0008,0005), all short elements.
  while (offset + 8 <= file.length) {
    const group = view.getUint16(offset, littleEndian);
    const element = view.getUint16(offset + 2, littleEndian);
    const length = explicitVr
      ? view.getUint16(offset + 6, littleEndian)
      : view.getUint32(offset + 4, littleEndian);
    const valueOffset = offset + 8;
    if (group > 0x0008 || (group === 0x0008 && element > 0x0005)) return null;
    if (valueOffset + length > file.length) return null;
    if (group === 0x0008 && element === 0x0005) return { valueOffset, length };
    offset = valueOffset + length;
  }
  return null;
}
