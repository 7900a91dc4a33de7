/**
 * A pool of worker threads (node:worker_threads) that computes the features of the tumour and the
 * peritumoral region of a case in parallel, off the event loop that serves the CDS hooks.
 *
 * Memory: `analyseCaseAsync` first cuts the image and the tumour label mask to the tumour's
 * bounding box widened by the dilation reach. The cut volumes are then copied once per case into
 * SharedArrayBuffers, which every worker reads without a further copy. The copies take 9 bytes per
 * voxel of the cut box, 8 for the Float64 image and 1 for the mask. That is under 1 MB for a tumour of
 * 40 mm diameter on 0.7 × 0.7 × 3 mm voxels. It reaches 0.66 GiB for a 512 × 512 × 300 CT when the box
 * covers the whole volume, or when an image value error makes the case run again uncut. The copies
 * are freed after the case. Each worker then builds its binary region masks on the cut box (1 to 3
 * bytes per voxel), as `analyseCase` does in one thread. The copy runs in 16 MiB steps with a turn of
 * the event loop between them, so even a large box does not hold up a hook for long.
 *
 * A worker that crashes fails only the region it was computing, with ERR_INTERNAL; the pool starts
 * a new worker for the next request.
 */
import { Worker } from 'node:worker_threads';

import { Nqo1Error } from '../errors.js';
import type { ImageVolume, MaskVolume } from '../imaging/volume.js';
import type { RegionFeatures, RegionTask } from '../model/analyse-region.js';
import { analyseCaseAsync, type CaseInput } from '../model/analyse.js';
import type { ScoreResult } from '../model/result.js';
import { deserialiseError, type RegionRequest, type RegionResponse } from './region-worker-protocol.js';

/** Default number of worker threads: one per region of the BR-RO card. */
export const DEFAULT_WORKER_THREADS = 2;

/** Bytes copied into a SharedArrayBuffer between two turns of the event loop. */
const SHARE_CHUNK_BYTES = 16 * 1024 * 1024;

/** Module a worker thread runs. */
export interface WorkerModule {
  readonly url: URL;
}

export interface RegionWorkerPoolOptions {
  /** Maximum number of worker threads running at once, at least 1. */
  readonly size: number;
  /** Defaults to {@link defaultWorkerModule}; tests substitute a module that crashes. */
  readonly workerModule?: WorkerModule;
}

/**
 * Returns the worker module next to this file: the compiled `.js` when this file runs from `dist/`, or the
 * `.ts` source loaded through tsx (a devDependency) when it runs from source, as under Vitest.
 */
export function defaultWorkerModule(): WorkerModule {
  const self = import.meta.url;
  if (self.endsWith('.ts')) return tsxWorkerModule(new URL('./region-worker-thread.ts', self));
  return { url: new URL('./region-worker-thread.js', self) };
}

/**
 * Builds a worker module that registers tsx's loader hooks in the worker thread and then imports the
 * TypeScript module `source`. On Node 20, `execArgv: ['--import', 'tsx']` runs tsx in the worker
 * but its hooks do not reach the worker's entry module, which then fails with
 * ERR_UNKNOWN_FILE_EXTENSION, so a small `data:` module does the two steps instead.
 */
export function tsxWorkerModule(source: URL): WorkerModule {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import { register } from ${JSON.stringify(tsxApi)};\n` +
    'register();\n' +
    `await import(${JSON.stringify(source.href)});\n`;
  return { url: new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`) };
}

interface PendingRegion {
  readonly request: Omit<RegionRequest, 'id'>;
  readonly resolve: (region: RegionFeatures) => void;
  readonly reject: (error: Error) => void;
}

export class RegionWorkerPool {
  readonly size: number;
  readonly #module: WorkerModule;
  readonly #idle: Worker[] = [];
  readonly #running = new Map<Worker, PendingRegion & { readonly id: number }>();
  readonly #workers = new Set<Worker>();
  readonly #waiting: PendingRegion[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: RegionWorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `A region worker pool needs at least 1 thread, got ${options.size}; use 0 in jobs.workerThreads to compute without one.`,
      );
    }
    this.size = options.size;
    this.#module = options.workerModule ?? defaultWorkerModule();
  }

  /**
   * Same result as `analyseCase(input)`, with both regions computed in worker threads. The cut image
   * and mask are copied into shared memory first (see the module comment).
   *
   * @throws Nqo1Error with the code and message `analyseCase` throws, or ERR_INTERNAL when a worker
   *   thread crashed or the pool was closed.
   */
  async analyseCase(input: CaseInput): Promise<ScoreResult> {
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

    return analyseCaseAsync(input, async (regionImage, tumourLabels, task) => {
      const image: ImageVolume = {
        grid: regionImage.grid,
        voxels: new Float64Array(await shareOnce(regionImage.voxels)),
      };
      const tumour: MaskVolume = {
        grid: tumourLabels.grid,
        voxels: new Uint8Array(await shareOnce(tumourLabels.voxels)),
      };
      return this.computeRegion(image, tumour, task);
    });
  }

  /**
   * Computes one region in the next free worker thread. Volumes over SharedArrayBuffers are shared
   * with the worker; any other typed array is copied by `postMessage`.
   */
  computeRegion(image: ImageVolume, tumourLabels: MaskVolume, task: RegionTask): Promise<RegionFeatures> {
    if (this.#closed) return Promise.reject(closedError(task));
    return new Promise<RegionFeatures>((resolve, reject) => {
      this.#waiting.push({ request: { image, tumourLabels, task }, resolve, reject });
      this.#dispatch();
    });
  }

  /** Fails the waiting requests, stops every worker thread and resolves when they have exited. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#waiting.splice(0)) pending.reject(closedError(pending.request.task));
    await Promise.all([...this.#workers].map((worker) => worker.terminate()));
  }

  /** Starts waiting requests on idle workers, starting new workers up to the pool size. */
  #dispatch(): void {
    while (this.#waiting.length > 0) {
      const worker = this.#idle.pop() ?? (this.#workers.size < this.size ? this.#spawn() : undefined);
      if (worker === undefined) return;

      const pending = this.#waiting.shift()!;
      const id = this.#nextId++;
      this.#running.set(worker, { ...pending, id });
      worker.ref();
      worker.postMessage({ id, ...pending.request } satisfies RegionRequest);
    }
  }

  #spawn(): Worker {
    const worker = new Worker(this.#module.url);
    this.#workers.add(worker);
    worker.on('message', (response: RegionResponse) => {
      this.#settle(worker, response);
    });
    worker.on('error', (error: Error) => {
      const code = (error as NodeJS.ErrnoException).code;
      this.#retire(worker, `${error.name}${code === undefined ? '' : ` ${code}`}`);
    });
    worker.on('exit', (exitCode: number) => {
      this.#retire(worker, `exit code ${exitCode}`);
    });
    return worker;
  }

  #settle(worker: Worker, response: RegionResponse): void {
    const pending = this.#running.get(worker);
    if (pending === undefined || pending.id !== response.id) return;

    this.#running.delete(worker);
    worker.unref();
    this.#idle.push(worker);
    if (response.ok) pending.resolve(response.region);
    else pending.reject(deserialiseError(response.error));
    this.#dispatch();
  }

  /** Forgets a worker that failed or exited, fails its running request and replaces it if needed. */
  #retire(worker: Worker, reason: string): void {
    if (!this.#workers.delete(worker)) return;
    const idleIndex = this.#idle.indexOf(worker);
    if (idleIndex >= 0) this.#idle.splice(idleIndex, 1);

    const pending = this.#running.get(worker);
    this.#running.delete(worker);
    if (pending !== undefined) {
      const { region } = pending.request.task;
      pending.reject(
        this.#closed
          ? closedError(pending.request.task)
          : new Nqo1Error(
              'ERR_INTERNAL',
              `The worker thread computing the ${region} region stopped (${reason}) before it replied, so the ` +
                'analysis failed. A later hook call for the study runs it again; if it keeps failing, report the study UID.',
              { details: { region, reason } },
            ),
      );
    }
    void worker.terminate();
    if (!this.#closed) this.#dispatch();
  }
}

function closedError(task: RegionTask): Nqo1Error {
  return new Nqo1Error(
    'ERR_INTERNAL',
    `The region worker pool was closed before the ${task.region} region was computed.`,
    { details: { region: task.region } },
  );
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
