/** `nqo1-cds score`: features, probability and class for one case from files. */
import { analyseCase, cardRadiomicsSettings } from '../../model/analyse.js';
import { BR_RO_CARD_PATH, loadModelCard } from '../../model/card.js';
import type { ScoreResult } from '../../model/result.js';
import { loadCase, parseSegmentOption } from '../case-input.js';
import { formatScoreSummary } from '../format.js';
import type { Locale } from '../messages.js';

export interface ScoreOptions {
  readonly image: string;
  readonly mask: string;
  readonly model?: string;
  readonly json?: boolean;
  /** Tumour segment of a SEG, ROI of an RTSTRUCT or segment of a .seg.nrrd, by number or name. */
  readonly segment?: string;
  /** Tumour label in an NRRD or NIfTI label map; defaults to the card's label. */
  readonly label?: number;
  /** Resample a tilted or irregularly spaced series instead of rejecting it. */
  readonly resampleIrregular?: boolean;
  /** Tolerance between mask and image grid in mm; default max(0.01 mm, 1 % of the spacing). */
  readonly maskToleranceMm?: number;
  /** FRACTIONAL SEG threshold as a fraction of MaximumFractionalValue; default 0.5. */
  readonly fractionalThreshold?: number;
  /** Most image files of the CT series; default as in `readCtSeries`. */
  readonly maxInstances?: number;
  /** Most voxels of the CT volume; default as in `readCtSeries`. */
  readonly maxVoxels?: number;
}

/** Scores one case and writes the summary or the JSON result to `output`. */
export async function scoreCommand(
  options: ScoreOptions,
  locale: Locale,
  output: NodeJS.WritableStream,
): Promise<ScoreResult> {
  const card = await loadModelCard(options.model ?? BR_RO_CARD_PATH);
  const label = options.label ?? cardRadiomicsSettings(card).label;
  const loaded = await loadCase(options.image, options.mask, label, parseSegmentOption(options.segment), {
    series: {
      resampleIrregular: options.resampleIrregular === true,
      ...(options.maxInstances === undefined ? {} : { maxInstances: options.maxInstances }),
      ...(options.maxVoxels === undefined ? {} : { maxVoxels: options.maxVoxels }),
    },
    mask: {
      ...(options.maskToleranceMm === undefined ? {} : { toleranceMm: options.maskToleranceMm }),
      ...(options.fractionalThreshold === undefined
        ? {}
        : { fractionalThreshold: options.fractionalThreshold }),
    },
  });
  const result = analyseCase({ ...loaded, card });
  output.write(
    options.json === true
      ? `${JSON.stringify(result, null, 2)}\n`
      : `${formatScoreSummary(result, card, locale)}\n`,
  );
  return result;
}
