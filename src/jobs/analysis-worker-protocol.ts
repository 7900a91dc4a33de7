/**
 * Messages between the analysis worker pool (`analysis-workers.ts`) and its worker threads
 * (`analysis-worker-thread.ts`): one request kind per CPU-bound step of an analysis, and the reply
 * that carries its output or the error it threw.
 *
 * Volumes travel as typed arrays. The sender lists the ArrayBuffers under them in the transfer list
 * of `postMessage`, which moves them to the other thread without a copy and detaches them in the
 * sender. Typed arrays over SharedArrayBuffers are shared instead. Everything else is plain
 * structured-cloneable data.
 */
import type { Transferable } from 'node:worker_threads';

import { Nqo1Error, isNqo1Error, type ErrorCode, type ErrorDetails } from '../errors.js';
import type { RoiOverlay } from '../imaging/roi-overlay.js';
import type { ImageVolume, MaskVolume } from '../imaging/volume.js';
import type { RegionFeatures, RegionTask } from '../model/analyse-region.js';
import type { RegionPicturesInput } from './region-pictures.js';
import type { TumourGeometry } from './roi-retrieval.js';
import type { StudyImages, StudyImagesInput } from './study-images.js';

/** One region of a case to compute (`computeRegionFeatures`). */
export interface RegionInput {
  readonly image: ImageVolume;
  readonly tumourLabels: MaskVolume;
  readonly task: RegionTask;
}

/** Input and output of each request kind. */
export interface AnalysisSteps {
  readonly region: { readonly input: RegionInput; readonly output: RegionFeatures };
  readonly 'study-images': { readonly input: StudyImagesInput; readonly output: StudyImages };
  readonly 'region-pictures': { readonly input: RegionPicturesInput; readonly output: RoiOverlay };
  readonly 'tumour-geometry': { readonly input: TumourGeometryInput; readonly output: TumourGeometry };
}

/** A segmentation file whose tumour geometry `readTumourGeometry` reads. */
export interface TumourGeometryInput {
  readonly segModality: string;
  readonly segFile: ArrayBuffer;
}

export type AnalysisStep = keyof AnalysisSteps;

/** A request from the pool to a thread; the pool adds the `id`. */
export type AnalysisRequest = {
  readonly [Step in AnalysisStep]: {
    readonly id: number;
    readonly step: Step;
    readonly input: AnalysisSteps[Step]['input'];
  };
}[AnalysisStep];

/** A thrown value reduced to what crosses the thread boundary. */
export type SerialisedError =
  | {
      readonly kind: 'nqo1';
      readonly code: ErrorCode;
      readonly message: string;
      readonly details: ErrorDetails;
    }
  | { readonly kind: 'other'; readonly name: string; readonly message: string };

/** The reply of a thread to one {@link AnalysisRequest}; `output` has the type of the request's step. */
export type AnalysisResponse =
  | { readonly id: number; readonly ok: true; readonly output: AnalysisSteps[AnalysisStep]['output'] }
  | { readonly id: number; readonly ok: false; readonly error: SerialisedError };

/** Keeps an {@link Nqo1Error}'s code, message and details, and any other error's name and message. */
export function serialiseError(error: unknown): SerialisedError {
  if (isNqo1Error(error)) {
    return { kind: 'nqo1', code: error.code, message: error.message, details: error.details };
  }
  if (error instanceof Error) return { kind: 'other', name: error.name, message: error.message };
  return { kind: 'other', name: typeof error, message: String(error) };
}

/**
 * Rebuilds the error a worker thread caught: the same {@link Nqo1Error} code, message and details,
 * or a plain Error with the original name and message (which the queue records as ERR_INTERNAL).
 */
export function deserialiseError(error: SerialisedError): Error {
  if (error.kind === 'nqo1') return new Nqo1Error(error.code, error.message, { details: error.details });
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}

/**
 * Lists the distinct ArrayBuffers under `views` and `buffers` for a transfer list. SharedArrayBuffers
 * are left out, since `postMessage` shares them and rejects them in a transfer list.
 */
export function transferListOf(
  views: readonly ArrayBufferView[],
  buffers: readonly ArrayBuffer[] = [],
): Transferable[] {
  const distinct = new Set<ArrayBuffer>(buffers);
  for (const view of views) {
    if (view.buffer instanceof ArrayBuffer) distinct.add(view.buffer);
  }
  return [...distinct];
}
