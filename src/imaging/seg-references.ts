/**
 * The image series a DICOM SEG states it was made on (ReferencedSeriesSequence of the Common
 * Instance Reference module), checked against the CT series it is read with.
 *
 * @see DICOM PS3.3 section C.12.2 (Common Instance Reference module).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import type { CtSeries } from './ct-series.js';
import type { DicomItem } from './dicom-dataset.js';

/**
 * Requires the SEG's ReferencedSeriesSequence, when present, to name the CT series. A SEG made on
 * another series of the same frame of reference can still match the CT plane positions, so without
 * this check it would be read onto the wrong images.
 *
 * @throws Nqo1Error ERR_MASK_GEOMETRY naming the referenced series and the CT series.
 */
export function checkReferencedSeries(dataset: DicomItem, series: CtSeries): void {
  const referencedUids = dataset
    .sequence('ReferencedSeriesSequence')
    .map((item) => item.string('SeriesInstanceUID'))
    .filter((uid): uid is string => uid !== null);
  if (referencedUids.length === 0 || referencedUids.includes(series.seriesInstanceUid)) return;

  throw new Nqo1Error(
    'ERR_MASK_GEOMETRY',
    `SEG file: the segmentation was made on series ${truncateInput(referencedUids.join(', '))} ` +
      `(ReferencedSeriesSequence), not on CT series ${truncateInput(series.seriesInstanceUid)}. Pass the SEG made on this CT series, or the CT series ` +
      'that the SEG references.',
    {
      details: {
        ctSeriesInstanceUid: truncateInput(series.seriesInstanceUid),
        referencedSeries: referencedUids.length,
      },
    },
  );
}
