/**
 * The CPU-bound reading step of one analysis: the retrieved CT files decoded into a volume in
 * Hounsfield units, and the SEG or RTSTRUCT read into a tumour mask on that volume's grid. The
 * study analyser runs it in an analysis worker thread (`analysis-workers.ts`), or in its own thread
 * when `jobs.workerThreads` is 0; both run this same function, so both give the same voxels.
 */
import { readCtSeries, type CtSeries, type ReadCtSeriesOptions } from '../imaging/ct-series.js';
import { prepareCodecs } from '../imaging/prepare-codecs.js';
import { readRtStructMask, roiSelectionOf } from '../imaging/rtstruct.js';
import { readSegMask, type SegmentSelection, type SegReadOptions } from '../imaging/seg.js';
import type { MaskVolume } from '../imaging/volume.js';
import { cropCase } from '../model/analyse.js';
import type { ModelCard } from '../model/card.js';
import type { CaseVolumes } from '../model/case-crop.js';

/** The files of one reading step and the reader options; plain data that `postMessage` can send. */
export interface StudyImagesInput {
  /** Part 10 files of the CT series, or of a contiguous run of its slices. */
  readonly ctFiles: readonly ArrayBuffer[];
  /** The Part 10 file of the SEG or RTSTRUCT instance. */
  readonly segFile: ArrayBuffer;
  /** `RTSTRUCT` reads contours; any other modality reads the file as a DICOM SEG. */
  readonly segModality: string;
  readonly series?: ReadCtSeriesOptions;
  /** Segment of the SEG, or ROI of the RTSTRUCT, that outlines the tumour. */
  readonly segment?: SegmentSelection;
  readonly segOptions?: Omit<SegReadOptions, keyof SegmentSelection>;
  /** With a card, the volumes are also cut to the part its regions reach (`cropCase`). */
  readonly caseCrop?: { readonly card: ModelCard };
}

/** The decoded CT series and the tumour mask on its grid. */
export interface StudyImages {
  readonly series: CtSeries;
  readonly tumour: MaskVolume;
  /** `cropCase` of the volume and mask, when `caseCrop` was given. */
  readonly cut?: CaseVolumes;
}

/**
 * Starts the codecs the files need, decodes the CT series and reads the tumour mask on its grid.
 * With `caseCrop`, also cuts both to the part of the volume the card's regions reach.
 *
 * @throws Nqo1Error from `readCtSeries` (ERR_SERIES_*, ERR_DICOM_*, ERR_INPUT_TOO_LARGE) and from
 *   `readSegMask` or `readRtStructMask` (ERR_SEG_MALFORMED, ERR_RTSTRUCT_MALFORMED, ERR_MASK_GEOMETRY,
 *   ERR_SEGMENT_SELECTION, ERR_MASK_EMPTY, …), and ERR_MASK_GEOMETRY from `cropCase`.
 */
export async function readStudyImages(input: StudyImagesInput): Promise<StudyImages> {
  await prepareCodecs([...input.ctFiles, input.segFile]);
  const series = readCtSeries(input.ctFiles, input.series);
  const segment = input.segment ?? {};
  const tumour =
    input.segModality === 'RTSTRUCT'
      ? readRtStructMask(input.segFile, series, roiSelectionOf(segment), input.segOptions)
      : readSegMask(input.segFile, series, { ...input.segOptions, ...segment });
  if (input.caseCrop === undefined) return { series, tumour };
  return { series, tumour, cut: cropCase({ image: series.volume, tumour, card: input.caseCrop.card }) };
}
