/**
 * A pool of worker threads (node:worker_threads) that runs the CPU-bound steps of an analysis off the
 * event loop that serves the CDS hooks. The steps are the segmentation geometry of the ROI-first plan
 * (`roi-retrieval.ts`), decoding the CT and reading the tumour mask (`study-images.ts`), the features
 * of the two regions in parallel (`src/model/analyse-region.ts`), and the region pictures
 * (`region-pictures.ts`). The threads,
 * their replacement after a crash and the typed errors are those of `worker-pool.ts`.
 *
 * Buffers: the CT and SEG files, and the volume and mask that come back, move between the threads
 * in the transfer list of `postMessage`, without a copy. The region pictures move the volume and
 * mask to the thread the same way. For the features, `analyseCaseAsync` first cuts the image and the
 * tumour label mask to the tumour's bounding box widened by the dilation reach. The cut volumes are
 * then copied once per case into SharedArrayBuffers, which both region threads read without a further
 * copy. The copies take 9 bytes per voxel of the cut box, 8 for the Float64 image and 1 for the mask.
 * That is under 1 MB for a tumour of 40 mm diameter on 0.7 × 0.7 × 3 mm voxels. It reaches 0.66 GiB
 * for a 512 × 512 × 300 CT when the box covers the whole volume, or when an image value error makes
 * the case run again uncut. The copies are freed after the case. The copy runs in 16 MiB steps with
 * a turn of the event loop between them, so even a large box does not hold up a hook for long.
 *
 * Errors: a step that throws an Nqo1Error in a thread rejects here with an Nqo1Error of the same
 * code, message and details. A thread that crashes or exceeds its resource limits fails only the
 * step it was running, with ERR_INTERNAL, and the pool starts a new thread for the next request.
 */
import type { ResourceLimits } from 'node:worker_threads';

import { countOf } from '../imaging/input-text.js';
import type { RoiOverlay } from '../imaging/roi-overlay.js';
import type { ImageVolume, MaskVolume } from '../imaging/volume.js';
import type { RegionFeatures, RegionTask } from '../model/analyse-region.js';
import { analyseCaseAsync, type CaseInput, type RegionComputer } from '../model/analyse.js';
import type { CaseVolumes } from '../model/case-crop.js';
import type { ScoreResult } from '../model/result.js';
import {
  deserialiseError,
  transferListOf,
  type AnalysisResponse,
  type AnalysisStep,
  type AnalysisSteps,
} from './analysis-worker-protocol.js';
import type { RegionPicturesInput } from './region-pictures.js';
import type { TumourGeometry } from './roi-retrieval.js';
import type { StudyImages, StudyImagesInput } from './study-images.js';
import { WorkerPool, tsxWorkerModule, type WorkerActivity, type WorkerModule } from './worker-pool.js';

export { tsxWorkerModule, type WorkerModule } from './worker-pool.js';

/** Default number of worker threads: one per region of the BR-RO card. */
export const DEFAULT_WORKER_THREADS = 2;

/** Bytes copied into a SharedArrayBuffer between two turns of the event loop. */
const SHARE_CHUNK_BYTES = 16 * 1024 * 1024;

export interface AnalysisWorkerPoolOptions {
  /** Maximum number of worker threads running at once, at least 1. */
  readonly size: number;
  /** Defaults to {@link defaultWorkerModule}; tests substitute a module that crashes. */
  readonly workerModule?: WorkerModule;
  /** V8 limits of each thread; Node's defaults when absent. */
  readonly resourceLimits?: ResourceLimits;
}

/**
 * Returns the worker module next to this file: the compiled `.js` when this file runs from `dist/`, or the
 * `.ts` source loaded through tsx (a devDependency) when it runs from source, as under Vitest.
 */
export function defaultWorkerModule(): WorkerModule {
  const self = import.meta.url;
  if (self.endsWith('.ts')) return tsxWorkerModule(new URL('./analysis-worker-thread.ts', self));
  return { url: new URL('./analysis-worker-thread.js', self) };
}

export class AnalysisWorkerPool {
  readonly size: number;
  readonly #threads: WorkerPool;

  constructor(options: AnalysisWorkerPoolOptions) {
    this.#threads = new WorkerPool({
      size: options.size,
      workerModule: options.workerModule ?? defaultWorkerModule(),
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
    this.size = options.size;
  }

  /** Number of threads started and not yet ended. */
  get threadCount(): number {
    return this.#threads.threadCount;
  }

  /**
   * Same result as `readStudyImages(input)`, computed in a worker thread. The CT files move to the
   * thread and are detached here. The SEG file is copied, because the analyser reads it again after a
   * whole-series fallback. The volume and the mask move back without a copy.
   *
   * @throws Nqo1Error with the code, message and details `readStudyImages` throws, or ERR_INTERNAL
   *   when the thread stopped or the pool was closed.
   */
  readStudyImages(input: StudyImagesInput): Promise<StudyImages> {
    return this.#run('study-images', input, transferListOf([], [...input.ctFiles]), {
      description: `decoding ${countOf(input.ctFiles.length, 'CT instance')} and the ${input.segModality}`,
      details: { step: 'study-images' },
    });
  }

  /**
   * Same result as `readTumourGeometry(segModality, segFile)`, read in a worker thread. The file is
   * copied to the thread, since the analyser reads it again for the mask.
   *
   * @throws as {@link readStudyImages}.
   */
  readTumourGeometry(segModality: string, segFile: ArrayBuffer): Promise<TumourGeometry> {
    return this.#run('tumour-geometry', { segModality, segFile }, [], {
      description: `reading the ${segModality} geometry`,
      details: { step: 'tumour-geometry' },
    });
  }

  /**
   * Same result as `drawRegionPictures(input)`, drawn in a worker thread. The image and label voxels
   * move to the thread and are detached here, unless they lie in SharedArrayBuffers.
   *
   * @throws as {@link readStudyImages}.
   */
  drawRegionPictures(input: RegionPicturesInput): Promise<RoiOverlay> {
    return this.#run('region-pictures', input, transferListOf([input.image.voxels, input.labels.voxels]), {
      description: 'drawing the region pictures',
      details: { step: 'region-pictures' },
    });
  }

  /**
   * Same result as `analyseCase(input)`, with both regions computed in worker threads. The cut image
   * and mask are copied into shared memory first (see the module comment). Pass `cut` when the caller
   * has `cropCase(input)` already, as `readStudyImages` returns it in shared memory from a thread. The
   * case is then neither cut nor copied here.
   *
   * @throws Nqo1Error with the code and message `analyseCase` throws, or ERR_INTERNAL when a worker
   *   thread crashed or the pool was closed.
   */
  async analyseCase(input: CaseInput, cut?: CaseVolumes): Promise<ScoreResult> {
    // analyseCaseAsync passes the same cut volumes for both regions, so each is shared only once.
    const shared = new Map<Float64Array | Uint8Array, Promise<SharedArrayBuffer>>();
    const shareOnce = (view: Float64Array | Uint8Array): Promise<SharedArrayBuffer> => {
      let buffer = shared.get(view);
      if (buffer === undefined) {
        buffer = share(view);
        shared.set(view, buffer);
      }
      return buffer;
    };

    const computeRegion: RegionComputer = async (regionImage, tumourLabels, task) => {
      const image: ImageVolume = {
        grid: regionImage.grid,
        voxels: new Float64Array(await shareOnce(regionImage.voxels)),
      };
      const tumour: MaskVolume = {
        grid: tumourLabels.grid,
        voxels: new Uint8Array(await shareOnce(tumourLabels.voxels)),
      };
      return this.computeRegion(image, tumour, task);
    };
    return cut === undefined
      ? analyseCaseAsync(input, computeRegion)
      : analyseCaseAsync(input, computeRegion, cut);
  }

  /**
   * Computes one region in the next free worker thread. Volumes over SharedArrayBuffers are shared
   * with the worker; any other typed array is copied by `postMessage`.
   */
  computeRegion(image: ImageVolume, tumourLabels: MaskVolume, task: RegionTask): Promise<RegionFeatures> {
    return this.#run('region', { image, tumourLabels, task }, [], {
      description: `computing the ${task.region} region`,
      details: { step: 'region', region: task.region },
    });
  }

  /** Fails the waiting requests, stops every worker thread and resolves when they have exited. */
  close(): Promise<void> {
    return this.#threads.close();
  }

  async #run<Step extends AnalysisStep>(
    step: Step,
    input: AnalysisSteps[Step]['input'],
    transfer: Parameters<WorkerPool['run']>[1],
    activity: WorkerActivity,
  ): Promise<AnalysisSteps[Step]['output']> {
    const reply = (await this.#threads.run({ step, input }, transfer, activity)) as AnalysisResponse;
    if (!reply.ok) throw deserialiseError(reply.error);
    // The thread ran `step`, so the output has that step's type.
    return reply.output;
  }
}

/**
 * Returns the bytes of `view` in a SharedArrayBuffer: its own buffer when that is already shared
 * and covered entirely, else a copy made in {@link SHARE_CHUNK_BYTES} steps that yield to the event loop.
 */
async function share(view: Float64Array | Uint8Array): Promise<SharedArrayBuffer> {
  const { buffer, byteOffset, byteLength } = view;
  if (buffer instanceof SharedArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength)
    return buffer;

  const shared = new SharedArrayBuffer(byteLength);
  const target = new Uint8Array(shared);
  const source = new Uint8Array(buffer, byteOffset, byteLength);
  for (let offset = 0; offset < byteLength; offset += SHARE_CHUNK_BYTES) {
    if (offset > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    target.set(source.subarray(offset, offset + SHARE_CHUNK_BYTES), offset);
  }
  return shared;
}
