/**
 * The region pictures of finished analyses on PostgreSQL, with the rules of the SQLite table
 * (`overlay-store.ts`): one row per (analysis id, slice index) with the PNG in a `bytea` column. The
 * pictures contain pixels of the patient's CT, so they are never logged.
 */

import type { RoiOverlay } from '../imaging/roi-overlay.js';
import type { OverlaySliceInfo } from './overlay-store.js';
import type { PostgresPool } from './postgres-pool.js';
import { OVERLAY_LOCK_NAMESPACE } from './postgres-schema.js';
import type { OverlayStore } from './store.js';

interface OverlayRow {
  slice_index: number;
  tumour_voxel_count: number;
  width_px: number;
  height_px: number;
  window_level_hu: number;
  window_width_hu: number;
}

/** Overlay pictures of the PostgreSQL store. */
export class PostgresOverlayStore implements OverlayStore {
  readonly #pool: PostgresPool;

  constructor(pool: PostgresPool) {
    this.#pool = pool;
  }

  /**
   * Stores the pictures of analysis `analysisId`, replacing any stored before, in one transaction. An
   * advisory lock on the analysis id makes a second save of the same analysis (a job delivered twice)
   * wait and then replace the first, where two inserts of the same slices would otherwise collide.
   */
  async save(analysisId: string, overlay: RoiOverlay): Promise<void> {
    await this.#pool.transaction('storing region pictures', async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        OVERLAY_LOCK_NAMESPACE,
        analysisId,
      ]);
      await client.query(`DELETE FROM analysis_overlays WHERE analysis_id = $1`, [analysisId]);
      for (const slice of overlay.slices) {
        await client.query(
          `INSERT INTO analysis_overlays
             (analysis_id, slice_index, tumour_voxel_count, width_px, height_px, window_level_hu, window_width_hu, png)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            analysisId,
            slice.sliceIndex,
            slice.tumourVoxelCount,
            slice.widthPx,
            slice.heightPx,
            overlay.window.levelHu,
            overlay.window.widthHu,
            Buffer.from(slice.png.buffer, slice.png.byteOffset, slice.png.byteLength),
          ],
        );
      }
    });
  }

  /** Lists the stored pictures of `analysisId` in slice order, without pixels; empty when there are none. */
  async list(analysisId: string): Promise<OverlaySliceInfo[]> {
    const { rows } = await this.#pool.query<OverlayRow>(
      `SELECT slice_index, tumour_voxel_count, width_px, height_px, window_level_hu, window_width_hu
       FROM analysis_overlays WHERE analysis_id = $1 ORDER BY slice_index`,
      [analysisId],
    );
    return rows.map((row) => ({
      sliceIndex: row.slice_index,
      tumourVoxelCount: row.tumour_voxel_count,
      widthPx: row.width_px,
      heightPx: row.height_px,
      window: { levelHu: row.window_level_hu, widthHu: row.window_width_hu },
    }));
  }

  /** Returns the PNG of one slice, or undefined when it is not stored. */
  async png(analysisId: string, sliceIndex: number): Promise<Uint8Array | undefined> {
    const { rows } = await this.#pool.query<{ png: Buffer }>(
      `SELECT png FROM analysis_overlays WHERE analysis_id = $1 AND slice_index = $2`,
      [analysisId, sliceIndex],
    );
    return rows[0] === undefined ? undefined : new Uint8Array(rows[0].png);
  }
}
