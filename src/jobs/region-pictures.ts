/**
 * The region pictures of one analysis (`src/imaging/roi-overlay.ts`), drawn from the volumes the
 * features used: the tumour is the card's label, grown by the card's dilation. The study analyser
 * runs this step in an analysis worker thread (`analysis-workers.ts`), or in its own thread when
 * `jobs.workerThreads` is 0.
 */
import { dilateMaskMm } from '../imaging/dilate.js';
import { renderRoiOverlay, type RoiOverlay } from '../imaging/roi-overlay.js';
import type { ImageVolume, MaskVolume } from '../imaging/volume.js';

/** The volumes and the card's region settings; plain data that `postMessage` can send. */
export interface RegionPicturesInput {
  readonly image: ImageVolume;
  /** Label mask on the image grid; voxels equal to `label` form the tumour. */
  readonly labels: MaskVolume;
  readonly label: number;
  /** Radius of the physical dilation of the outer outline, in millimetres. */
  readonly dilationMm: number;
}

/**
 * Draws one picture per slice that the dilated tumour reaches.
 *
 * @throws Nqo1Error from `renderRoiOverlay` (ERR_MASK_GEOMETRY, ERR_MASK_EMPTY) or from the dilation.
 */
export function drawRegionPictures(input: RegionPicturesInput): RoiOverlay {
  const { labels, label } = input;
  const tumourVoxels = new Uint8Array(labels.voxels.length);
  for (let index = 0; index < tumourVoxels.length; index++) {
    tumourVoxels[index] = labels.voxels[index] === label ? 1 : 0;
  }
  const tumour: MaskVolume = { grid: labels.grid, voxels: tumourVoxels };
  return renderRoiOverlay(input.image, tumour, dilateMaskMm(tumour, input.dilationMm));
}
