/**
 * Random mutations of DICOM Part 10 files for fuzzing the decoders: byte-level damage (bit flips,
 * byte runs, truncation) and structure-aware damage to element headers, values, sequences, the
 * transfer syntax and encapsulated pixel data. Every mutation returns a new buffer and a one-line
 * description that names what it changed, so a failing input can be rebuilt in a regression test
 * from the primitives of `mutation-primitives.ts`.
 */

import {
  ITEM_TAG,
  PART10_PREFIX_BYTES,
  PIXEL_DATA_TAG,
  UNDEFINED_LENGTH,
  indexDicomElements,
  asciiValue,
  type DicomIndex,
  type ElementRecord,
} from './dicom-elements.js';
import { corruptFragment } from './fragment-mutations.js';
import {
  binaryWords,
  datasetRecords,
  formatTag,
  paddedAscii,
  presentLength,
  replaceValue,
  spliceBytes,
  writeLength,
  writeTag,
  writeVr,
  type Mutated,
} from './mutation-primitives.js';
import type { Random } from './random.js';

/** Elements whose values steer decoding: image format, geometry, SEG and RTSTRUCT references. */
export const DECODER_TAGS: readonly number[] = [
  0x00020010, // TransferSyntaxUID
  0x00080005, // SpecificCharacterSet
  0x00080016, // SOPClassUID
  0x00080060, // Modality
  0x00081155, // ReferencedSOPInstanceUID
  0x00180050, // SliceThickness
  0x00180088, // SpacingBetweenSlices
  0x0020000e, // SeriesInstanceUID
  0x00200032, // ImagePositionPatient
  0x00200037, // ImageOrientationPatient
  0x00200052, // FrameOfReferenceUID
  0x00209157, // DimensionIndexValues
  0x00280002, // SamplesPerPixel
  0x00280004, // PhotometricInterpretation
  0x00280006, // PlanarConfiguration
  0x00280008, // NumberOfFrames
  0x00280010, // Rows
  0x00280011, // Columns
  0x00280030, // PixelSpacing
  0x00280100, // BitsAllocated
  0x00280101, // BitsStored
  0x00280102, // HighBit
  0x00280103, // PixelRepresentation
  0x00281052, // RescaleIntercept
  0x00281053, // RescaleSlope
  0x00620001, // SegmentationType
  0x00620004, // SegmentNumber
  0x00620005, // SegmentLabel
  0x0062000b, // ReferencedSegmentNumber
  0x0062000e, // MaximumFractionalValue
  0x00620010, // SegmentationFractionalType
  0x30060022, // ROINumber
  0x30060024, // ReferencedFrameOfReferenceUID
  0x30060026, // ROIName
  0x30060042, // ContourGeometricType
  0x30060046, // NumberOfContourPoints
  0x30060050, // ContourData
  0x30060084, // ReferencedROINumber
];

/** Text tokens that break number, UID and code string parsing in different ways. */
const TEXT_TOKENS: readonly string[] = [
  '',
  '0',
  '-1',
  '1',
  '2',
  '3',
  '8',
  '16',
  '65535',
  '65536',
  '2147483648',
  '4294967297',
  '1e308',
  '-1e308',
  '1e-320',
  'NaN',
  'Infinity',
  '-0',
  ' ',
  '\\',
  '\\\\\\',
  '1\\2',
  '0\\0\\0',
  '1\\0\\0\\0\\1\\0',
  '0\\0\\0\\0\\0\\0',
  '1\\1\\1\\1\\1\\1',
  'abc',
  '1.2.3',
  '1..2',
  'MONOCHROME2',
  'RGB',
  'BINARY',
  'FRACTIONAL',
  'LABELMAP',
  'CLOSED_PLANAR',
  'POINT',
  'CT',
  'SEG',
  '1.2.840.10008.5.1.4.1.1.2',
  '1.2.840.10008.5.1.4.1.1.66.4',
  '1.2.840.10008.5.1.4.1.1.481.3',
  '1.2.840.10008.5.1.4.1.1.2.1',
  'ISO_IR 192',
  'ISO 2022 IR 87',
  '9'.repeat(64),
];

/** 16- and 32-bit values at the edges of what header fields hold. */
const WORD_VALUES: readonly number[] = [0, 1, 2, 7, 8, 12, 15, 16, 17, 31, 32, 255, 0x7fff, 0x8000, 0xffff];
const LONG_VALUES: readonly number[] = [0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** VRs written over an explicit VR: short and long length forms, sequence, and invalid letters. */
const VR_VALUES: readonly string[] = [
  'OB',
  'OW',
  'UN',
  'SQ',
  'US',
  'UL',
  'SS',
  'DS',
  'IS',
  'UI',
  'CS',
  'LO',
  'UT',
  'FD',
  'XX',
  '\0\0',
];

/** Transfer syntaxes written over the file's own: every family the reader reads, and unknown ones. */
const TRANSFER_SYNTAX_VALUES: readonly string[] = [
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.51',
  '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70',
  '1.2.840.10008.1.2.4.80',
  '1.2.840.10008.1.2.4.81',
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.4.201',
  '1.2.840.10008.1.2.4.100',
  '1.2.840.10008.1.2.4.110',
  '1.2.840.10008.1.2.5',
  '1.2.3.4',
  '',
];

/** Name of each random mutation, for counts per mutation in reports. */
export type MutationName =
  | 'bit-flip'
  | 'byte-run'
  | 'truncate'
  | 'length-field'
  | 'tag'
  | 'vr'
  | 'duplicate'
  | 'remove'
  | 'value'
  | 'numbers'
  | 'uid-swap'
  | 'transfer-syntax'
  | 'fragment';

type Mutation = (bytes: Uint8Array, index: DicomIndex, random: Random) => Mutated | null;

function flipBits(bytes: Uint8Array, _index: DicomIndex, random: Random): Mutated | null {
  if (bytes.length <= PART10_PREFIX_BYTES) return null;
  const result = bytes.slice();
  const flips = random.between(1, 16);
  const positions: number[] = [];
  for (let i = 0; i < flips; i++) {
    const offset = random.between(PART10_PREFIX_BYTES, bytes.length - 1);
    const bit = random.below(8);
    result[offset] = result[offset]! ^ (1 << bit);
    positions.push(offset);
  }
  return { bytes: result, description: `bit-flip ×${flips} at ${positions.slice(0, 4).join(', ')}…` };
}

function byteRun(bytes: Uint8Array, _index: DicomIndex, random: Random): Mutated | null {
  if (bytes.length <= PART10_PREFIX_BYTES) return null;
  const start = random.between(PART10_PREFIX_BYTES, bytes.length - 1);
  const length = Math.min(bytes.length - start, random.between(1, 256));
  const fill = random.pick([0x00, 0xff, 0x20, 0x5c, random.below(256)]);
  const result = bytes.slice();
  const noise = random.chance(0.3);
  for (let i = start; i < start + length; i++) result[i] = noise ? random.below(256) : fill;
  return {
    bytes: result,
    description: `byte-run ${noise ? 'noise' : `0x${fill.toString(16)}`} ×${length} at ${start}`,
  };
}

function truncate(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const records = datasetRecords(index);
  // Half the cuts fall right inside a header or value, where parsers most often over-read.
  const record = records.length > 0 && random.chance(0.5) ? random.pick(records) : null;
  const length =
    record === null
      ? random.below(bytes.length)
      : Math.min(
          bytes.length - 1,
          record.offset + random.below(Math.max(1, record.valueOffset - record.offset + 8)),
        );
  return { bytes: bytes.slice(0, length), description: `truncate to ${length} of ${bytes.length} bytes` };
}

function lengthField(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const records = datasetRecords(index);
  if (records.length === 0) return null;
  const record = random.pick(records);
  const old = record.valueLength;
  const candidates =
    record.lengthBytes === 2
      ? [0, 1, old + 1, old - 1, old + 2, old * 2, 0xfffe, 0xffff, random.below(0x10000)]
      : [
          0,
          1,
          old + 1,
          old - 1,
          old + 2,
          old * 2,
          UNDEFINED_LENGTH,
          0x7fffffff,
          0xfffffff0,
          bytes.length,
          random.uint32(),
        ];
  const length = random.pick(candidates) >>> 0;
  return {
    bytes: writeLength(bytes, record, length),
    description: `length-field ${record.kind} ${formatTag(record.tag)} ${old} → ${length}`,
  };
}

function corruptTag(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const records = datasetRecords(index);
  if (records.length === 0) return null;
  const record = random.pick(records);
  const tag = random.pick([
    random.uint32(),
    random.pick(index.records).tag,
    0x00000000,
    0xffffffff,
    ITEM_TAG,
    0xfffee00d,
    0xfffee0dd,
    PIXEL_DATA_TAG,
    (record.tag + 1) >>> 0,
    (record.tag - 1) >>> 0,
  ]);
  return {
    bytes: writeTag(bytes, record, tag),
    description: `tag ${formatTag(record.tag)} → ${formatTag(tag)}`,
  };
}

function corruptVr(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const records = datasetRecords(index).filter((record) => record.vr !== null);
  if (records.length === 0) return null;
  const record = random.pick(records);
  const vr = random.pick(VR_VALUES);
  return {
    bytes: writeVr(bytes, record, vr),
    description: `vr ${formatTag(record.tag)} ${record.vr ?? ''} → ${JSON.stringify(vr)}`,
  };
}

/** Headers whose whole extent is known, so they can be copied or cut out as a unit. */
function wholeRecords(index: DicomIndex): ElementRecord[] {
  return datasetRecords(index).filter((record) => record.end !== null && record.kind !== 'delimiter');
}

function duplicate(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const records = wholeRecords(index);
  if (records.length === 0) return null;
  const record = random.pick(records);
  const end = Math.min(record.end!, bytes.length);
  const copy = bytes.slice(record.offset, end);
  const at = random.chance(0.5) ? end : random.pick(index.records).offset;
  return {
    bytes: spliceBytes(bytes, at, 0, copy),
    description: `duplicate ${record.kind} ${formatTag(record.tag)} (${copy.length} bytes) at ${at}`,
  };
}

function remove(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const records = wholeRecords(index);
  if (records.length === 0) return null;
  const record = random.pick(records);
  const end = Math.min(record.end!, bytes.length);
  return {
    bytes: spliceBytes(bytes, record.offset, end - record.offset, new Uint8Array(0)),
    description: `remove ${record.kind} ${formatTag(record.tag)} (${end - record.offset} bytes)`,
  };
}

const BINARY_WORD_VRS = new Set(['US', 'SS', 'OW', 'AT']);
const BINARY_LONG_VRS = new Set(['UL', 'SL', 'OL']);

function corruptValue(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const interesting = datasetRecords(index).filter(
    (record) => record.kind === 'element' && DECODER_TAGS.includes(record.tag),
  );
  const leaves = datasetRecords(index).filter(
    (record) => record.kind === 'element' && record.tag !== PIXEL_DATA_TAG,
  );
  const pool = interesting.length > 0 && random.chance(0.85) ? interesting : leaves;
  if (pool.length === 0) return null;
  const record = random.pick(pool);
  const oldLength = presentLength(bytes, record);

  // Binary values keep their length; a US element whose VR is implicit is 2 bytes long.
  if (record.vr !== null ? BINARY_WORD_VRS.has(record.vr) : oldLength === 2) {
    const words = Array.from({ length: Math.max(1, oldLength / 2) }, () => random.pick(WORD_VALUES));
    return {
      bytes: replaceValue(bytes, record, binaryWords(record, words, 2)),
      description: `value ${formatTag(record.tag)} → words [${words.slice(0, 6).join(', ')}]`,
    };
  }
  if (record.vr !== null && BINARY_LONG_VRS.has(record.vr)) {
    const words = Array.from({ length: Math.max(1, oldLength / 4) }, () => random.pick(LONG_VALUES));
    return {
      bytes: replaceValue(bytes, record, binaryWords(record, words, 4)),
      description: `value ${formatTag(record.tag)} → longs [${words.slice(0, 6).join(', ')}]`,
    };
  }

  let text = random.pick(TEXT_TOKENS);
  if (random.chance(0.2)) text = `${text}\\${random.pick(TEXT_TOKENS)}`;
  // Half the time the value keeps its length, so only the value and not the framing is wrong.
  let value = paddedAscii(text);
  if (random.chance(0.5) && oldLength > 0) {
    const sameLength = new Uint8Array(oldLength).fill(0x20);
    sameLength.set(value.subarray(0, oldLength));
    value = sameLength;
  }
  if (record.lengthBytes === 2 && value.length > 0xffff) return null;
  return {
    bytes: replaceValue(bytes, record, value),
    description: `value ${formatTag(record.tag)} → ${JSON.stringify(text)} (${value.length} bytes)`,
  };
}

const NUMBER_LIST_VRS = new Set(['DS', 'IS']);
const MAX_REPEATED_BYTES = 2 ** 20;

/**
 * Perturbs one number of a DS or IS list, such as ContourData, ImagePositionPatient or
 * PixelSpacing. The number is scaled, negated, made NaN or huge, or dropped so that a coordinate
 * triplet breaks. Or the whole list is repeated, like a contour with thousands of points.
 */
function perturbNumbers(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const lists = datasetRecords(index).filter(
    (record) =>
      record.kind === 'element' &&
      presentLength(bytes, record) > 0 &&
      (record.vr === null ? DECODER_TAGS.includes(record.tag) : NUMBER_LIST_VRS.has(record.vr)),
  );
  if (lists.length === 0) return null;
  const record = random.pick(lists);

  const text = asciiValue(bytes, record.valueOffset, presentLength(bytes, record));
  let numbers = text.split('\\');
  const at = random.below(numbers.length);
  const operation = random.pick(['scale', 'negate', 'nan', 'huge', 'drop', 'repeat'] as const);
  const value = Number(numbers[at]);
  switch (operation) {
    case 'scale':
      numbers[at] = String(value * random.pick([1e-6, 0.5, 1.01, 2, 1e6]));
      break;
    case 'negate':
      numbers[at] = String(-value);
      break;
    case 'nan':
      numbers[at] = random.pick(['NaN', 'nan', '-', '.', '1e']);
      break;
    case 'huge':
      numbers[at] = random.pick(['1e30', '-1e30', '9e307', '2147483648']);
      break;
    case 'drop':
      numbers.splice(at, 1);
      break;
    case 'repeat': {
      // At most 1 MiB, the size of a fine contour of some 30,000 points. Larger text values are
      // a known cost of the parser (see the NOTE in dicom-dataset.ts), not a finding per input.
      const copies = Math.max(
        2,
        Math.min(random.pick([10, 100, 1000]), Math.floor(MAX_REPEATED_BYTES / (text.length + 1))),
      );
      numbers = Array.from({ length: copies }, () => numbers).flat();
      break;
    }
  }

  const encoded = paddedAscii(numbers.join('\\'));
  if (record.lengthBytes === 2 && encoded.length > 0xffff) return null;
  return {
    bytes: replaceValue(bytes, record, encoded),
    description: `numbers ${formatTag(record.tag)} ${operation} at ${at} of ${text.split('\\').length}`,
  };
}

/** Replaces a UID by another UID of the same file: a reference that points at the wrong object. */
function swapUid(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const uids = datasetRecords(index).filter(
    (record) => record.kind === 'element' && record.vr === 'UI' && presentLength(bytes, record) > 0,
  );
  if (uids.length < 2) return null;
  const target = random.pick(uids);
  const source = random.pick(uids);
  const value = bytes.slice(source.valueOffset, source.valueOffset + presentLength(bytes, source));
  return {
    bytes: replaceValue(bytes, target, value),
    description: `uid-swap ${formatTag(target.tag)} ← value of ${formatTag(source.tag)}`,
  };
}

function transferSyntax(bytes: Uint8Array, index: DicomIndex, random: Random): Mutated | null {
  const record = index.records.find((candidate) => candidate.tag === 0x00020010);
  if (record === undefined) return null;
  const uid = random.pick(TRANSFER_SYNTAX_VALUES.filter((value) => value !== index.transferSyntaxUid));
  const padded = uid.length % 2 === 0 ? uid : `${uid}\0`;
  const value = new Uint8Array(padded.length);
  for (let i = 0; i < padded.length; i++) value[i] = padded.charCodeAt(i);
  const result = replaceValue(bytes, record, value);

  // Usually the group length follows, as a careful editor would write it; sometimes it is left stale.
  const groupLength = index.records.find((candidate) => candidate.tag === 0x00020000);
  const fixGroupLength = groupLength !== undefined && random.chance(0.7);
  if (fixGroupLength) {
    const view = new DataView(result.buffer);
    const old = view.getUint32(groupLength.valueOffset, true);
    view.setUint32(groupLength.valueOffset, old + value.length - record.valueLength, true);
  }
  return {
    bytes: result,
    description: `transfer-syntax ${index.transferSyntaxUid ?? '(none)'} → ${JSON.stringify(uid)}${fixGroupLength ? '' : ' (stale group length)'}`,
  };
}

const MUTATIONS: Readonly<Record<MutationName, Mutation>> = {
  'bit-flip': flipBits,
  'byte-run': byteRun,
  truncate,
  'length-field': lengthField,
  tag: corruptTag,
  vr: corruptVr,
  duplicate,
  remove,
  value: corruptValue,
  numbers: perturbNumbers,
  'uid-swap': swapUid,
  'transfer-syntax': transferSyntax,
  fragment: corruptFragment,
};

/** Relative weights: structure-aware mutations reach deeper code than byte noise, so they dominate. */
const WEIGHTS: readonly (readonly [MutationName, number])[] = [
  ['bit-flip', 8],
  ['byte-run', 5],
  ['truncate', 6],
  ['length-field', 12],
  ['tag', 6],
  ['vr', 6],
  ['duplicate', 8],
  ['remove', 8],
  ['value', 20],
  ['numbers', 10],
  ['uid-swap', 5],
  ['transfer-syntax', 5],
  ['fragment', 11],
];
const TOTAL_WEIGHT = WEIGHTS.reduce((sum, [, weight]) => sum + weight, 0);

function pickMutation(random: Random): MutationName {
  let draw = random.below(TOTAL_WEIGHT);
  for (const [name, weight] of WEIGHTS) {
    if (draw < weight) return name;
    draw -= weight;
  }
  return 'value';
}

/**
 * Applies one to three random mutations to `original`. A mutation that does not apply to the file
 * (fragments of native pixel data, say) is replaced by another draw.
 *
 * @returns the mutated bytes, the mutation names and their descriptions in the order applied
 */
export function mutateDicom(
  original: Uint8Array,
  random: Random,
): { bytes: Uint8Array; mutations: MutationName[]; descriptions: string[] } {
  const count = random.pick([1, 1, 1, 2, 2, 3]);
  let bytes = original;
  const mutations: MutationName[] = [];
  const descriptions: string[] = [];
  for (let attempt = 0; mutations.length < count && attempt < 20; attempt++) {
    const name = pickMutation(random);
    const mutated = MUTATIONS[name](bytes, indexDicomElements(bytes), random);
    if (mutated === null) continue;
    bytes = mutated.bytes;
    mutations.push(name);
    descriptions.push(mutated.description);
  }
  return { bytes, mutations, descriptions };
}
