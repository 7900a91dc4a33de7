/**
 * The region pictures of one analysis for the SMART app (`src/imaging/roi-overlay.ts`), behind the same
 * proof of access as `GET /api/analyses/{id}` (`analysis-read.ts`):
 *
 * - `GET /api/analyses/{id}/overlay?fhirServer=…` lists the stored slices as JSON:
 *   `{ slices: [{ sliceIndex, tumourVoxelCount, widthPx, heightPx, window: { levelHu, widthHu } }] }`,
 *   empty for an analysis that is not done or whose pictures could not be drawn;
 * - `GET /api/analyses/{id}/overlay/{sliceIndex}?fhirServer=…` sends one slice as `image/png`.
 *
 * The pictures show the patient's CT, so each call reads the ImagingStudy with the caller's token
 * first, and the responses are never cached.
 */

import type express from 'express';

import { Nqo1Error } from '../errors.js';
import type { ResultStore } from '../jobs/store.js';
import { readAccessibleAnalysis, type AnalysisReadDeps } from './analysis-read.js';
import { auditAnalysis, smartAppActor } from './route-audit.js';

export interface AnalysisOverlayDeps extends AnalysisReadDeps {
  readonly store: AnalysisReadDeps['store'] & Pick<ResultStore, 'overlays'>;
}

/** A slice index as it appears in the path: a non-negative integer of at most 5 digits. */
const SLICE_INDEX = /^(0|[1-9][0-9]{0,4})$/;

/** Handles `GET /api/analyses/:id/overlay`. */
export async function listOverlay(
  deps: AnalysisOverlayDeps,
  req: express.Request,
  res: express.Response,
): Promise<void> {
  const stored = await readAccessibleAnalysis(deps, req);
  await auditAnalysis(deps.store.audit, 'overlay-list', smartAppActor(deps.config), stored);
  res.status(200).json({ slices: await deps.store.overlays.list(stored.id) });
}

/** Handles `GET /api/analyses/:id/overlay/:slice`. */
export async function sendOverlaySlice(
  deps: AnalysisOverlayDeps,
  req: express.Request,
  res: express.Response,
): Promise<void> {
  const stored = await readAccessibleAnalysis(deps, req);
  const slice = typeof req.params.slice === 'string' ? req.params.slice : '';
  const png = SLICE_INDEX.test(slice) ? await deps.store.overlays.png(stored.id, Number(slice)) : undefined;
  if (png === undefined) {
    throw new Nqo1Error(
      'ERR_NOT_FOUND',
      `Analysis ${stored.id} has no picture of slice ${slice.slice(0, 16)}; ` +
        `list its slices with GET /api/analyses/${stored.id}/overlay.`,
    );
  }
  res
    .status(200)
    .type('image/png')
    .send(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
}
