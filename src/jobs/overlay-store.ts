/**
 * The pictures of each finished analysis (`src/imaging/roi-overlay.ts`), in the result store's SQLite
 * file: one row per (analysis id, slice index) with the PNG. They contain pixels of the patient's CT, so
 * they are served only behind the same proof of access as the result, and never logged.
 *
 * A new analysis of the same row replaces all its pictures in one transaction.
 */

/* eslint-disable @typescript-eslint/require-await -- better-sqlite3 answers synchronously; the methods are
   async only to implement the engine-neutral interfaces of `store.ts`. */

import type Database from 'better-sqlite3';

import type { HuWindow, RoiOverlay } from '../imaging/roi-overlay.js';
import type { OverlayStore } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS analysis_overlays (
  analysis_id        TEXT NOT NULL,
  slice_index        INTEGER NOT NULL,
  tumour_voxel_count INTEGER NOT NULL,
  width_px           INTEGER NOT NULL,
  height_px          INTEGER NOT NULL,
  window_level_hu    REAL NOT NULL,
  window_width_hu    REAL NOT NULL,
  png                BLOB NOT NULL,
  PRIMARY KEY (analysis_id, slice_index)
) WITHOUT ROWID;
`;

/** One stored picture without its pixels, as the app lists them. */
export interface OverlaySliceInfo {
  readonly sliceIndex: number;
  readonly tumourVoxelCount: number;
  readonly widthPx: number;
  readonly heightPx: number;
  readonly window: HuWindow;
}

interface OverlayRow {
  slice_index: number;
  tumour_voxel_count: number;
  width_px: number;
  height_px: number;
  window_level_hu: number;
  window_width_hu: number;
}

/** Overlay pictures on the result store's open database; the result store creates the table. */
export class SqliteOverlayStore implements OverlayStore {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#db.exec(SCHEMA);
  }

  /** Stores the pictures of analysis `analysisId`, replacing any stored before. */
  async save(analysisId: string, overlay: RoiOverlay): Promise<void> {
    const remove = this.#db.prepare(`DELETE FROM analysis_overlays WHERE analysis_id = ?`);
    const insert = this.#db.prepare(
      `INSERT INTO analysis_overlays
         (analysis_id, slice_index, tumour_voxel_count, width_px, height_px, window_level_hu, window_width_hu, png)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const replace = this.#db.transaction(() => {
      remove.run(analysisId);
      for (const slice of overlay.slices) {
        insert.run(
          analysisId,
          slice.sliceIndex,
          slice.tumourVoxelCount,
          slice.widthPx,
          slice.heightPx,
          overlay.window.levelHu,
          overlay.window.widthHu,
          Buffer.from(slice.png.buffer, slice.png.byteOffset, slice.png.byteLength),
        );
      }
    });
    replace.immediate();
  }

  /** Lists the stored pictures of `analysisId` in slice order, without pixels. The list is empty when there are none. */
  async list(analysisId: string): Promise<OverlaySliceInfo[]> {
    return this.#db
      .prepare<[string], OverlayRow>(
        `SELECT slice_index, tumour_voxel_count, width_px, height_px, window_level_hu, window_width_hu
         FROM analysis_overlays WHERE analysis_id = ? ORDER BY slice_index`,
      )
      .all(analysisId)
      .map((row) => ({
        sliceIndex: row.slice_index,
        tumourVoxelCount: row.tumour_voxel_count,
        widthPx: row.width_px,
        heightPx: row.height_px,
        window: { levelHu: row.window_level_hu, widthHu: row.window_width_hu },
      }));
  }

  /** Returns the PNG of one slice, or undefined when it is not stored. */
  async png(analysisId: string, sliceIndex: number): Promise<Uint8Array | undefined> {
    const row = this.#db
      .prepare<[string, number], { png: Buffer }>(
        `SELECT png FROM analysis_overlays WHERE analysis_id = ? AND slice_index = ?`,
      )
      .get(analysisId, sliceIndex);
    return row === undefined ? undefined : new Uint8Array(row.png);
  }
}
