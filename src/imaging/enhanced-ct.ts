/**
 * Enhanced CT and Legacy Converted Enhanced CT images: one slice per frame, each placed by its
 * functional groups.
 *
 * Each frame takes its position from PlanePositionSequence, its orientation from
 * PlaneOrientationSequence, its pixel spacing and thickness from PixelMeasuresSequence and its
 * rescale from PixelValueTransformationSequence. Each macro is read from the frame's item of the
 * Per-Frame Functional Groups Sequence when present there, else from the Shared Functional Groups
 * Sequence.
 *
 * @see DICOM PS3.3 sections A.38 (Enhanced CT IOD), A.70 (Legacy Converted Enhanced CT IOD) and
 *   C.7.6.16 (Multi-frame Functional Groups module).
 */

import { Nqo1Error } from '../errors.js';

import { FrameGroups } from './functional-groups.js';
import { checkPixelSpacing, frameDecoder, isLossyCompressed, readRescale } from './modality-values.js';

import type { CtSlice } from './ct-slice.js';
import type { DicomFile, DicomItem, PixelData } from './dicom-dataset.js';
import type { PixelFormat } from './pixel-data.js';

/** Multi-frame CT SOP classes read frame by frame. */
export const ENHANCED_CT_SOP_CLASSES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.5.1.4.1.1.2.1', 'Enhanced CT Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.2.2', 'Legacy Converted Enhanced CT Image Storage'],
]);

/**
 * Returns one slice per frame of an Enhanced or Legacy Converted Enhanced CT image. A frame without
 * a rescale in its functional groups falls back to the top-level RescaleSlope and
 * RescaleIntercept, and then to the CT defaults of `readRescale`.
 *
 * @throws Nqo1Error ERR_DICOM_MALFORMED when the Per-Frame Functional Groups Sequence does not have
 *   one item per frame, or a frame lacks its plane position, orientation or pixel measures.
 */
export function readEnhancedCtSlices(
  file: DicomFile,
  pixelData: PixelData,
  format: PixelFormat,
  context: string,
): CtSlice[] {
  const dataset = file.dataset;
  const perFrame = dataset.sequence('PerFrameFunctionalGroupsSequence');
  if (perFrame.length !== format.numberOfFrames) {
    throw malformed(
      context,
      `the Per-Frame Functional Groups Sequence has ${perFrame.length} items for NumberOfFrames ${format.numberOfFrames}`,
    );
  }
  const shared = dataset.sequence('SharedFunctionalGroupsSequence')[0] ?? null;

  const identity = {
    studyInstanceUid: dataset.requireString('StudyInstanceUID'),
    seriesInstanceUid: dataset.requireString('SeriesInstanceUID'),
    sopInstanceUid: dataset.requireString('SOPInstanceUID'),
    frameOfReferenceUid: dataset.string('FrameOfReferenceUID'),
    modality: dataset.requireString('Modality'),
    seriesDescription: dataset.string('SeriesDescription'),
  };

  const lossyCompressed = isLossyCompressed(dataset, file.transferSyntax.uid);
  return perFrame.map((frameItem, frameIndex) => {
    const frameContext = `${context} frame ${frameIndex + 1}`;
    const groups = new FrameGroups(frameItem, shared);

    const position = requireMacro(groups, 'PlanePositionSequence', frameContext).requireNumbers(
      'ImagePositionPatient',
      3,
    );
    const orientation = requireMacro(groups, 'PlaneOrientationSequence', frameContext).requireNumbers(
      'ImageOrientationPatient',
      6,
    );
    const measures = requireMacro(groups, 'PixelMeasuresSequence', frameContext);
    const pixelSpacing = checkPixelSpacing(measures.requireNumbers('PixelSpacing', 2), frameContext);

    if (groups.item('PixelValueTransformationSequence') === null && dataset.has('ModalityLUTSequence')) {
      throw new Nqo1Error(
        'ERR_DICOM_UNSUPPORTED',
        `${frameContext}: the image maps stored values through a Modality LUT Sequence, which this release does ` +
          'not apply. Export the series with RescaleSlope and RescaleIntercept.',
      );
    }
    const transformation = groups.item('PixelValueTransformationSequence');
    const rescale = readRescale(
      transformation?.number('RescaleSlope') ?? dataset.number('RescaleSlope'),
      transformation?.number('RescaleIntercept') ?? dataset.number('RescaleIntercept'),
      identity.modality,
      frameContext,
    );

    return {
      ...identity,
      context: frameContext,
      frameNumber: frameIndex + 1,
      rows: format.rows,
      columns: format.columns,
      imagePositionMm: [position[0]!, position[1]!, position[2]!],
      imageOrientation: orientation,
      pixelSpacingMm: pixelSpacing,
      sliceThicknessMm: measures.number('SliceThickness'),
      spacingBetweenSlicesMm: measures.number('SpacingBetweenSlices'),
      lossyCompressed,
      decodeInto: frameDecoder(
        pixelData,
        format,
        file.transferSyntax.littleEndian,
        frameIndex,
        rescale,
        frameContext,
      ),
    };
  });
}

function requireMacro(groups: FrameGroups, keyword: string, frameContext: string): DicomItem {
  const item = groups.item(keyword);
  if (item === null) {
    throw malformed(
      frameContext,
      `neither the per-frame nor the shared functional groups contain ${keyword}, so the frame cannot be placed`,
    );
  }
  return item;
}

function malformed(context: string, problem: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_DICOM_MALFORMED',
    `${context}: ${problem}. Export the multi-frame image again with complete functional groups.`,
  );
}
