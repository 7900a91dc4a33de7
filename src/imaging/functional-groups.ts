/**
 * The functional groups of one frame of a multi-frame image: the frame's item of the Per-Frame
 * Functional Groups Sequence, then the single item of the Shared Functional Groups Sequence.
 *
 * @see DICOM PS3.3 section C.7.6.16 (Multi-frame Functional Groups module).
 */

import type { DicomItem } from './dicom-dataset.js';

/** Functional group macros of one frame, looked up per frame before shared. */
export class FrameGroups {
  readonly #perFrame: DicomItem;
  readonly #shared: DicomItem | null;

  constructor(perFrame: DicomItem, shared: DicomItem | null) {
    this.#perFrame = perFrame;
    this.#shared = shared;
  }

  /**
   * Returns the first item of a functional group macro sequence, such as PlanePositionSequence.
   * The frame's own item wins over the shared item, and null means that neither contains the macro.
   */
  item(keyword: string): DicomItem | null {
    return this.#perFrame.sequence(keyword)[0] ?? this.#shared?.sequence(keyword)[0] ?? null;
  }

  /** The frame's own item of the Per-Frame Functional Groups Sequence. */
  get perFrame(): DicomItem {
    return this.#perFrame;
  }
}
