/**
 * A typed, checked view of a DICOM Part 10 file parsed by dcmjs 0.51.1.
 *
 * dcmjs returns untyped objects. This module is the only place that touches them: it parses the
 * file, accepts the native transfer syntaxes and the encapsulated ones listed in
 * `transfer-syntax.ts`, and reads attributes by DICOM keyword with run-time checks, so no `any`
 * reaches the rest of the imaging code.
 *
 * @see DICOM PS3.10 section 7 (file format) and PS3.5 section 10 (transfer syntaxes).
 */

import dcmjs from 'dcmjs';

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import { MAX_INFLATED_DATASET_BYTES, checkDeflatedDatasetSize } from './deflated-dataset.js';
import { characterSetFallback } from './character-set.js';
import { checkElementLengths } from './element-lengths.js';
import { readEncapsulatedPixelData } from './encapsulated-location.js';
import { fileMetaString } from './file-meta.js';
import { rejectPrivatePixelData } from './private-pixel-data.js';
import { findTransferSyntax, unsupportedTransferSyntax } from './transfer-syntax.js';

import type { EncapsulatedPixelData } from './encapsulated-pixel-data.js';
import type { TransferSyntax } from './transfer-syntax.js';

// dcmjs reports every dictionary VR it resolves for implicit-VR files ("Invalid vr type xs") on
// stderr through its "validation.dcmjs" logger. Those lines are not errors of the file; the checks
// that matter are made here and raise typed errors, so the logger is silenced.
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

export { NATIVE_TRANSFER_SYNTAXES } from './transfer-syntax.js';
export type { NativeTransferSyntax, TransferSyntax } from './transfer-syntax.js';
export type { EncapsulatedPixelData } from './encapsulated-pixel-data.js';

/** Byte offset of the "DICM" prefix that follows the 128-byte preamble of a Part 10 file. */
const PART10_PREFIX_OFFSET = 128;

/**
 * Returns true when `bytes` starts like a DICOM Part 10 file: a 128-byte preamble followed by
 * the ASCII letters "DICM" (PS3.10 section 7.1). Files without that prefix are not read.
 */
export function isDicomPart10(bytes: Uint8Array): boolean {
  if (bytes.length < PART10_PREFIX_OFFSET + 4) return false;
  const prefix = String.fromCharCode(...bytes.subarray(PART10_PREFIX_OFFSET, PART10_PREFIX_OFFSET + 4));
  return prefix === 'DICM';
}

/** SOP Class UID of a DICOMDIR, the Media Storage Directory (PS3.4 annex F). */
export const MEDIA_STORAGE_DIRECTORY_SOP_CLASS = '1.2.840.10008.1.3.10';

/**
 * Returns Media Storage SOP Class UID (0002,0002) of a Part 10 file without parsing the rest of the
 * file, or null when it is absent.
 */
export function mediaStorageSopClassUid(bytes: Uint8Array): string | null {
  return fileMetaString(bytes, 0x0002);
}

/** One dataset or sequence item, read by DICOM keyword with run-time type checks. */
export class DicomItem {
  readonly #elements: Readonly<Record<string, unknown>>;
  readonly #decodeText: (text: string) => string;

  /** Origin of the item for error messages, such as "Image file 01.dcm". */
  readonly context: string;

  /**
   * @param decodeText - turns string values into text; set for ISO 2022 character sets, which
   *   dcmjs does not decode (see `character-set.ts`)
   */
  constructor(
    elements: Readonly<Record<string, unknown>>,
    context: string,
    decodeText: (text: string) => string = (text) => text,
  ) {
    this.#elements = elements;
    this.context = context;
    this.#decodeText = decodeText;
  }

  /** Returns true when the attribute is present with at least one value. */
  has(keyword: string): boolean {
    return valuesOf(this.#elements[keyword]).length > 0;
  }

  /** Reads a single string value (UI, CS, LO, SH, ...), trimmed; null when absent or empty. */
  string(keyword: string): string | null {
    const values = valuesOf(this.#elements[keyword]);
    const first = values[0];
    if (first === undefined || first === null) return null;
    if (typeof first !== 'string') {
      throw this.#malformed(keyword, `must be a string, found ${describeValue(first)}`);
    }
    const trimmed = this.#decodeText(first).trim();
    return trimmed === '' ? null : trimmed;
  }

  /** Reads a single string value and fails when it is absent. */
  requireString(keyword: string): string {
    const value = this.string(keyword);
    if (value === null) throw this.#missing(keyword);
    return value;
  }

  /** Reads a single numeric value (US, UL, IS, DS, ...); null when absent. */
  number(keyword: string): number | null {
    const values = this.numbers(keyword);
    if (values === null) return null;
    if (values.length !== 1) {
      throw this.#malformed(
        keyword,
        `must hold 1 number, found ${values.length} (${truncateInput(values.join('\\'))})`,
      );
    }
    return values[0] ?? null;
  }

  /** Reads a single numeric value and fails when it is absent. */
  requireNumber(keyword: string): number {
    const value = this.number(keyword);
    if (value === null) throw this.#missing(keyword);
    return value;
  }

  /**
   * Reads a multi-valued numeric attribute; null when absent. With `count`, the attribute must
   * hold exactly that many finite numbers.
   */
  numbers(keyword: string, count?: number): readonly number[] | null {
    const raw = valuesOf(this.#elements[keyword]);
    if (raw.length === 0) return null;
    const values = raw.map((value) => toFiniteNumber(value));
    if (values.some((value) => value === null)) {
      throw this.#malformed(
        keyword,
        `must hold numbers, found ${truncateInput(raw.map(describeValue).join('\\'))}`,
      );
    }
    const numbers = values as readonly number[];
    if (count !== undefined && numbers.length !== count) {
      throw this.#malformed(
        keyword,
        `must hold ${count} numbers, found ${numbers.length} (${truncateInput(numbers.join('\\'))})`,
      );
    }
    return numbers;
  }

  /** Reads a multi-valued numeric attribute of `count` values and fails when it is absent. */
  requireNumbers(keyword: string, count: number): readonly number[] {
    const values = this.numbers(keyword, count);
    if (values === null) throw this.#missing(keyword);
    return values;
  }

  /** Reads the items of a sequence attribute; an absent or empty sequence gives no items. */
  sequence(keyword: string): readonly DicomItem[] {
    const raw = this.#elements[keyword];
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) {
      throw this.#malformed(keyword, `must be a sequence, found ${describeValue(raw)}`);
    }
    return raw.map((item: unknown, index) => {
      if (!isRecord(item)) {
        throw this.#malformed(keyword, `item ${index + 1} is not a dataset`);
      }
      return new DicomItem(item, `${this.context} ${keyword}[${index + 1}]`, this.#decodeText);
    });
  }

  #missing(keyword: string): Nqo1Error {
    return new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${this.context}: required attribute ${keyword} is missing. Export the object again with a complete header.`,
      { details: { attribute: keyword } },
    );
  }

  #malformed(keyword: string, problem: string): Nqo1Error {
    return new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${this.context}: ${keyword} ${problem}. Export the object again with a valid header.`,
      { details: { attribute: keyword } },
    );
  }
}

/** The pixel data of a native file: the raw bytes and the value representation they carry. */
export interface NativePixelData {
  readonly bytes: Uint8Array;
  /** "OB" or "OW"; decides the byte swapping of 1-bit data in big endian files. */
  readonly vr: string;
}

/** Pixel Data of either kind: one native value, or encapsulated compressed fragments. */
export type PixelData = NativePixelData | EncapsulatedPixelData;

/** Returns true when the Pixel Data is encapsulated (compressed). */
export function isEncapsulated(pixelData: PixelData): pixelData is EncapsulatedPixelData {
  return 'encapsulated' in pixelData;
}

/** A parsed Part 10 file. */
export interface DicomFile {
  readonly transferSyntax: TransferSyntax;
  readonly dataset: DicomItem;
  /** Null when the file has no Pixel Data (7FE0,0010). */
  readonly pixelData: PixelData | null;
}

/**
 * Parses a DICOM Part 10 file with dcmjs and checks that its pixel data is complete. Native pixel
 * data is returned as one value; encapsulated pixel data as its fragments and offset tables, which
 * `decodeFrameStoredValues` in `pixel-data.ts` decodes frame by frame.
 *
 * @param bytes - the whole file
 * @param context - names the file in error messages, e.g. "Image file 01.dcm"
 * @param options - `maxInflatedBytes`: the largest dataset a deflated file may inflate to, in bytes
 *   (default {@link MAX_INFLATED_DATASET_BYTES}, 256 MiB)
 * @throws Nqo1Error ERR_DICOM_MALFORMED when the bytes are not a Part 10 file, cannot be parsed or
 *   end inside the pixel data, or when an element declares more bytes than the file has left
 *   (see `element-lengths.ts`). ERR_DICOM_UNSUPPORTED when the transfer syntax is unknown or has no
 *   decoder here (MPEG, JPEG XL), or when the pixels sit only in a private
 *   compressed element. Also ERR_DICOM_UNSUPPORTED when a deflated dataset inflates to more than
 *   `maxInflatedBytes`.
 */
export function readDicomFile(
  bytes: ArrayBuffer,
  context: string,
  options: { readonly maxInflatedBytes?: number } = {},
): DicomFile {
  const view = new Uint8Array(bytes);
  if (!isDicomPart10(view)) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: not a DICOM Part 10 file (${view.length} bytes, no "DICM" prefix at byte 128). ` +
        'Send the file as stored by the PACS, with its 128-byte preamble and file meta information.',
    );
  }

  const maxInflatedBytes = options.maxInflatedBytes ?? MAX_INFLATED_DATASET_BYTES;
  checkDeflatedDatasetSize(view, context, maxInflatedBytes);
  checkElementLengths(view, context, maxInflatedBytes);
  const fallback = characterSetFallback(view, fileMetaString(view, 0x0010) ?? '');
  const parsed = parseWithDcmjs(fallback?.bytes ?? bytes, context);
  const meta = new DicomItem(parsed.meta, `${context} file meta information`);
  const dataset = new DicomItem(parsed.dataset, context, fallback?.decodeText);

  const transferSyntaxUid = meta.requireString('TransferSyntaxUID');
  // LIMITATION: MPEG, JPEG XL and unknown transfer syntaxes are rejected here, and colour images in
  // readPixelFormat. JPEG Extended (12-bit) decodes once prepareCodecs has started its codec (see
  // prepare-codecs.ts). Codecs for the remaining syntaxes would lift the first part, and a colour
  // pipeline the second.
  const transferSyntax = findTransferSyntax(transferSyntaxUid);
  if (transferSyntax === undefined) throw unsupportedTransferSyntax(transferSyntaxUid, context);

  if (transferSyntax.encapsulated) {
    const pixelData = readEncapsulatedPixelData(view, parsed.dict, transferSyntax.uid, context);
    if (pixelData === null) rejectPrivatePixelData(parsed.dict, context);
    return { transferSyntax, dataset, pixelData };
  }

  const pixelData = rawPixelData(parsed.dict, context);
  if (pixelData === null) rejectPrivatePixelData(parsed.dict, context);
  if (pixelData !== null && transferSyntax.uid !== '1.2.840.10008.1.2.1.99') {
    checkPixelDataWithinFile(view, transferSyntax, pixelData.bytes.length, context);
  }
  return { transferSyntax, dataset, pixelData };
}

interface ParsedFile {
  readonly meta: Readonly<Record<string, unknown>>;
  readonly dataset: Readonly<Record<string, unknown>>;
  /** The un-naturalized dcmjs dictionary, which still records each element's VR. */
  readonly dict: unknown;
}

/**
 * Runs dcmjs and narrows its untyped result; any exception from dcmjs means unreadable input.
 *
 * LIMITATION: dcmjs keeps each backslash-separated value of a text element as a string of its
 * own, so memory grows far faster than the file. A 42 MB RTSTRUCT whose one UI element held 5.9
 * million numbers took 9 s and 1.8 GB peak RSS to parse (Node 20, AMD EPYC). Only
 * MAX_INPUT_FILE_BYTES bounds such a file. A limit on the bytes outside Pixel Data, checked in
 * `element-lengths.ts`, would bound the parse.
 */
function parseWithDcmjs(bytes: ArrayBuffer, context: string): ParsedFile {
  let message: unknown;
  let meta: unknown;
  let dataset: unknown;
  try {
    message = dcmjs.data.DicomMessage.readFile(bytes);
    if (!isRecord(message)) throw new TypeError('dcmjs returned no DicomDict');
    meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.meta);
    dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: the DICOM file could not be parsed (${truncateInput(reason)}). The file is truncated or corrupt; ` +
        'retrieve it again from the PACS.',
      { cause: error },
    );
  }
  if (!isRecord(message) || !isRecord(meta) || !isRecord(dataset)) {
    throw new Nqo1Error('ERR_DICOM_MALFORMED', `${context}: dcmjs returned no dataset for this file.`);
  }
  return { meta, dataset, dict: message.dict };
}

/** Reads Pixel Data from the un-naturalized dcmjs dictionary, where its VR is still recorded. */
function rawPixelData(dict: unknown, context: string): NativePixelData | null {
  if (!isRecord(dict)) return null;
  const element = dict['7FE00010'];
  if (element === undefined) return null;
  if (!isRecord(element) || typeof element.vr !== 'string' || !Array.isArray(element.Value)) {
    throw new Nqo1Error('ERR_DICOM_MALFORMED', `${context}: Pixel Data (7FE0,0010) has an unexpected form.`);
  }
  const fragments: unknown[] = element.Value;
  const first = fragments[0];
  if (fragments.length !== 1 || !(first instanceof ArrayBuffer)) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: Pixel Data holds ${fragments.length} fragments, but a native transfer syntax stores one value. ` +
        'The file declares an uncompressed transfer syntax but carries encapsulated data; convert it again.',
    );
  }
  return { bytes: new Uint8Array(first), vr: element.vr };
}

/**
 * Confirms that the Pixel Data value lies inside the file. dcmjs 0.51.1 fills a value that runs
 * past the end of the input with zeros instead of failing, so a truncated file would otherwise
 * decode as a black image. The check looks for the Pixel Data element header (tag, VR for explicit
 * syntaxes, length) with the length dcmjs reported and requires its value to end within the file.
 */
function checkPixelDataWithinFile(
  file: Uint8Array,
  syntax: TransferSyntax,
  valueLength: number,
  context: string,
): void {
  const explicit = syntax.uid !== '1.2.840.10008.1.2';
  const tag = syntax.littleEndian ? [0xe0, 0x7f, 0x10, 0x00] : [0x7f, 0xe0, 0x00, 0x10];
  const lengthOffset = explicit ? 8 : 4;
  const headerLength = lengthOffset + 4;
  const data = new DataView(file.buffer, file.byteOffset, file.byteLength);

  let declaredEnd = -1;
  for (let offset = 0; offset + headerLength <= file.length; offset++) {
    if (file[offset] !== tag[0] || file[offset + 1] !== tag[1]) continue;
    if (file[offset + 2] !== tag[2] || file[offset + 3] !== tag[3]) continue;
    const length = data.getUint32(offset + lengthOffset, syntax.littleEndian);
    if (length !== valueLength) continue;
    declaredEnd = offset + headerLength + length;
    if (declaredEnd <= file.length) return;
  }

  throw new Nqo1Error(
    'ERR_DICOM_MALFORMED',
    `${context}: the file is truncated: Pixel Data declares ${valueLength} bytes` +
      (declaredEnd > 0 ? ` ending at byte ${declaredEnd}` : '') +
      `, but the file has ${file.length} bytes. Retrieve the file again from the PACS.`,
    { details: { fileBytes: file.length, pixelDataBytes: valueLength } },
  );
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** dcmjs naturalizes single values to scalars and multiple values to arrays; this unifies both. */
function valuesOf(value: unknown): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value as unknown[];
  return [value];
}

function toFiniteNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value.trim());
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `"${truncateInput(value)}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a sequence';
  return typeof value;
}
