/**
 * Builders of small DICOM Part 10 files in explicit VR little endian, for tests that need a hostile
 * header no shared file has, and synthetic CT series (single-frame and Enhanced CT) written with dcmjs.
 */

import dcmjs from 'dcmjs';

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

type NaturalDataset = Record<string, unknown>;

/** The writing half of the dcmjs 0.51.1 data API, which the shared declaration leaves out. */
interface DcmjsWriteApi {
  readonly DicomDict: new (meta: unknown) => { dict: unknown; write(): ArrayBuffer };
  readonly DicomMetaDictionary: { denaturalizeDataset(dataset: NaturalDataset): unknown };
}

/** Writes a naturalized dataset as a Part 10 file in Explicit VR Little Endian with dcmjs. */
export function writeNaturalDataset(natural: NaturalDataset): ArrayBuffer {
  const { DicomDict, DicomMetaDictionary } = dcmjs.data as unknown as DcmjsWriteApi;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: natural.SOPClassUID,
    MediaStorageSOPInstanceUID: natural.SOPInstanceUID,
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: '2.25.1',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(natural);
  return dict.write();
}

/** Identity and grid shared by the slices of a synthetic CT series. */
export interface SyntheticSeries {
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly frameOfReferenceUid: string;
  readonly rows: number;
  readonly columns: number;
  /** [between rows, between columns], in millimetres. */
  readonly pixelSpacingMm: readonly [number, number];
  readonly orientation: readonly number[];
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
}

/** One synthetic slice: its UID, its position and its signed 16-bit stored values (row by row). */
export interface SyntheticSlice {
  readonly sopInstanceUid: string;
  readonly positionMm: readonly [number, number, number];
  readonly stored: Int16Array;
}

function commonCtAttributes(series: SyntheticSeries): NaturalDataset {
  return {
    StudyInstanceUID: series.studyInstanceUid,
    SeriesInstanceUID: series.seriesInstanceUid,
    FrameOfReferenceUID: series.frameOfReferenceUid,
    Modality: 'CT',
    Rows: series.rows,
    Columns: series.columns,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 1,
  };
}

/** Builds a single-frame CT Image Storage file. */
export function syntheticCtSlice(series: SyntheticSeries, slice: SyntheticSlice): ArrayBuffer {
  return writeNaturalDataset({
    ...commonCtAttributes(series),
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
    SOPInstanceUID: slice.sopInstanceUid,
    ImagePositionPatient: [...slice.positionMm],
    ImageOrientationPatient: [...series.orientation],
    PixelSpacing: [...series.pixelSpacingMm],
    SliceThickness: 5,
    RescaleSlope: series.rescaleSlope,
    RescaleIntercept: series.rescaleIntercept,
    PixelData: [slice.stored.slice().buffer],
    _vrMap: { PixelData: 'OW' },
  });
}

/**
 * Builds an Enhanced CT Image Storage file with one frame per slice: orientation, pixel measures
 * and rescale in the shared functional groups, each frame's position in its per-frame item.
 */
export function syntheticEnhancedCt(
  series: SyntheticSeries,
  sopInstanceUid: string,
  frames: readonly Omit<SyntheticSlice, 'sopInstanceUid'>[],
): ArrayBuffer {
  const frameSize = series.rows * series.columns;
  const pixels = new Int16Array(frameSize * frames.length);
  frames.forEach((frame, index) => {
    pixels.set(frame.stored, index * frameSize);
  });
  return writeNaturalDataset({
    ...commonCtAttributes(series),
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.2.1',
    SOPInstanceUID: sopInstanceUid,
    NumberOfFrames: frames.length,
    SharedFunctionalGroupsSequence: [
      {
        PlaneOrientationSequence: [{ ImageOrientationPatient: [...series.orientation] }],
        PixelMeasuresSequence: [{ PixelSpacing: [...series.pixelSpacingMm], SliceThickness: 5 }],
        PixelValueTransformationSequence: [
          {
            RescaleSlope: series.rescaleSlope,
            RescaleIntercept: series.rescaleIntercept,
            RescaleType: 'HU',
          },
        ],
      },
    ],
    PerFrameFunctionalGroupsSequence: frames.map((frame) => ({
      PlanePositionSequence: [{ ImagePositionPatient: [...frame.positionMm] }],
    })),
    PixelData: [pixels.buffer],
    _vrMap: { PixelData: 'OW' },
  });
}

/** The raw dcmjs form of a parsed file: meta and dataset keyed by 8-digit tag. */
interface RawDicomFile {
  readonly meta: Record<string, { Value: unknown[] }>;
  readonly dict: Record<string, { Value: unknown[] }>;
}

/**
 * Copies a single-frame image file with a new SOPInstanceUID and ImagePositionPatient. The rest of
 * the header and the pixel data stay unchanged, so a real CT series can be widened with neighbours.
 */
export function movedCopyOfSlice(
  file: ArrayBuffer,
  sopInstanceUid: string,
  positionMm: readonly [number, number, number],
): ArrayBuffer {
  const { DicomDict } = dcmjs.data as unknown as DcmjsWriteApi;
  const parsed = dcmjs.data.DicomMessage.readFile(file.slice(0)) as RawDicomFile;
  const copy = new DicomDict(parsed.meta);
  parsed.meta['00020003']!.Value = [sopInstanceUid];
  parsed.dict['00080018']!.Value = [sopInstanceUid];
  parsed.dict['00200032']!.Value = [...positionMm];
  copy.dict = parsed.dict;
  return copy.write();
}

/** A data element in the raw form dcmjs reads and writes: its VR and its values. */
export interface RawElement {
  readonly vr: string;
  readonly Value: readonly unknown[];
}

/**
 * Copies a DICOM file with UIDs replaced and elements set. Every UI value found in `uids`, at any
 * depth of sequences and in the file meta information, becomes the mapped UID, so a CT slice moves
 * to another series or study and a SEG can reference the moved slices. `elements`, keyed by tag as
 * `ggggeeee` (e.g. `0008103E` for SeriesDescription), are then set at the top level. Pixel data and
 * every other element stay unchanged.
 */
export function remappedCopy(
  file: ArrayBuffer,
  uids: ReadonlyMap<string, string>,
  elements: Readonly<Record<string, RawElement>> = {},
): ArrayBuffer {
  const { DicomDict } = dcmjs.data as unknown as DcmjsWriteApi;
  const parsed = dcmjs.data.DicomMessage.readFile(file.slice(0)) as {
    meta: RawDictionary;
    dict: RawDictionary;
  };
  replaceUids(parsed.meta, uids);
  replaceUids(parsed.dict, uids);
  for (const [tag, element] of Object.entries(elements)) {
    parsed.dict[tag] = { vr: element.vr, Value: [...element.Value] };
  }
  const copy = new DicomDict(parsed.meta);
  copy.dict = parsed.dict;
  return copy.write();
}

type RawDictionary = Record<string, { vr?: string; Value?: unknown[] }>;

function replaceUids(dictionary: RawDictionary, uids: ReadonlyMap<string, string>): void {
  for (const element of Object.values(dictionary)) {
    const values = element.Value;
    if (values === undefined) continue;
    if (element.vr === 'SQ') {
      for (let index = 0; index < values.length; index++) replaceUids(values[index] as RawDictionary, uids);
    } else if (element.vr === 'UI') {
      for (let index = 0; index < values.length; index++) {
        values[index] = uids.get(String(values[index])) ?? values[index];
      }
    }
  }
}
