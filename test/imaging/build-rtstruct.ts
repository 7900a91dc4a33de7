/**
 * Writes small RT Structure Set files with dcmjs for tests that need contours no shared file has.
 */
import dcmjs from 'dcmjs';

type NaturalDataset = Record<string, unknown>;

/** The writing half of the dcmjs 0.51.1 data API, which the shared declaration leaves out. */
interface DcmjsWriteApi {
  readonly DicomDict: new (meta: unknown) => { dict: unknown; write(): ArrayBuffer };
  readonly DicomMetaDictionary: { denaturalizeDataset(dataset: NaturalDataset): unknown };
}

const RT_STRUCTURE_SET_STORAGE = '1.2.840.10008.5.1.4.1.1.481.3';

/** One contour: (x, y, z) points in patient millimetres, and the image it was drawn on. */
export interface TestContour {
  readonly points: readonly (readonly [number, number, number])[];
  readonly imageUid?: string;
  readonly type?: string;
}

/** One ROI of the test structure set. */
export interface TestRoi {
  readonly number: number;
  readonly name: string;
  readonly contours: readonly TestContour[];
}

/** Builds an RTSTRUCT Part 10 file (Explicit VR Little Endian) with the given ROIs. */
export function buildRtStruct(
  rois: readonly TestRoi[],
  frameOfReferenceUid: string,
  seriesInstanceUid?: string,
): ArrayBuffer {
  const { DicomDict, DicomMetaDictionary } = dcmjs.data as unknown as DcmjsWriteApi;
  const sopInstanceUid = '2.25.1234567890';
  const dataset: NaturalDataset = {
    SOPClassUID: RT_STRUCTURE_SET_STORAGE,
    SOPInstanceUID: sopInstanceUid,
    Modality: 'RTSTRUCT',
    StructureSetLabel: 'TEST',
    StructureSetROISequence: rois.map((roi) => ({
      ROINumber: roi.number,
      ReferencedFrameOfReferenceUID: frameOfReferenceUid,
      ROIName: roi.name,
      ROIGenerationAlgorithm: 'MANUAL',
    })),
    ROIContourSequence: rois.map((roi) => ({
      ReferencedROINumber: roi.number,
      ContourSequence: roi.contours.map((contour) => ({
        ...(contour.imageUid === undefined
          ? {}
          : {
              ContourImageSequence: [
                {
                  ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
                  ReferencedSOPInstanceUID: contour.imageUid,
                },
              ],
            }),
        ContourGeometricType: contour.type ?? 'CLOSED_PLANAR',
        NumberOfContourPoints: contour.points.length,
        ContourData: contour.points.flat(),
      })),
    })),
  };
  if (seriesInstanceUid !== undefined) {
    dataset.ReferencedFrameOfReferenceSequence = [
      {
        FrameOfReferenceUID: frameOfReferenceUid,
        RTReferencedStudySequence: [
          {
            ReferencedSOPClassUID: '1.2.840.10008.3.1.2.3.1',
            ReferencedSOPInstanceUID: '2.25.1',
            RTReferencedSeriesSequence: [{ SeriesInstanceUID: seriesInstanceUid }],
          },
        ],
      },
    ];
  }
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: RT_STRUCTURE_SET_STORAGE,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: '2.25.99',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return dict.write();
}
