/**
 * Messages between the region worker pool (`region-workers.ts`) and its worker threads
 * (`region-worker-thread.ts`). The volumes travel as typed arrays over SharedArrayBuffers, which
 * `postMessage` shares instead of copying; everything else is plain structured-cloneable data.
 */
import { Nqo1Error, isNqo1Error, type ErrorCode, type ErrorDetails } from '../errors.js';
import type { ImageVolume, MaskVolume } from '../imaging/volume.js';
import { computeRegionFeatures, type RegionFeatures, type RegionTask } from '../model/analyse-region.js';

/** One region to compute, sent from the pool to a worker thread. */
export interface RegionRequest {
  readonly id: number;
  readonly image: ImageVolume;
  readonly tumourLabels: MaskVolume;
  readonly task: RegionTask;
}

/** A thrown value reduced to what crosses the thread boundary. */
export type SerialisedError =
  | {
      readonly kind: 'nqo1';
      readonly code: ErrorCode;
      readonly message: string;
      readonly details: ErrorDetails;
    }
  | { readonly kind: 'other'; readonly name: string; readonly message: string };

/** The reply of a worker thread to one {@link RegionRequest}. */
export type RegionResponse =
  | { readonly id: number; readonly ok: true; readonly region: RegionFeatures }
  | { readonly id: number; readonly ok: false; readonly error: SerialisedError };

/** Computes the request's region and describes the outcome without throwing. */
export function handleRegionRequest(request: RegionRequest): RegionResponse {
  try {
    const region = computeRegionFeatures(request.image, request.tumourLabels, request.task);
    return { id: request.id, ok: true, region };
  } catch (error) {
    return { id: request.id, ok: false, error: serialiseError(error) };
  }
}

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
