/**
 * A fixed-size pool of worker threads (node:worker_threads) that runs one request per thread at a
 * time. It does not read the requests. It posts them with their transfer list, matches each reply to
 * its request by id, and turns a thread that dies into a typed error.
 *
 * A thread that crashes, exits or exceeds its `resourceLimits` (Node ends it with
 * ERR_WORKER_OUT_OF_MEMORY) fails only the request it was running, with ERR_INTERNAL. The pool
 * forgets the thread and starts a new one for the next request, so the server keeps running.
 */
import { Worker, type ResourceLimits, type Transferable } from 'node:worker_threads';

import { Nqo1Error, type ErrorDetails } from '../errors.js';

/** Module a worker thread runs. */
export interface WorkerModule {
  readonly url: URL;
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

export interface WorkerPoolOptions {
  /** Maximum number of worker threads running at once, at least 1. */
  readonly size: number;
  readonly workerModule: WorkerModule;
  /** V8 limits of each thread (Node's defaults when absent). Typed array contents do not count. */
  readonly resourceLimits?: ResourceLimits;
}

/** The work a request gives a thread, named in the error when the thread dies or the pool closes. */
export interface WorkerActivity {
  /** Present participle phrase, such as "decoding the CT series". */
  readonly description: string;
  /** Copied into the details of the error. */
  readonly details?: ErrorDetails;
}

/** A reply message of a thread, with the id of its request. */
export interface WorkerReply {
  readonly id: number;
}

interface PendingRequest {
  readonly message: object;
  readonly transfer: readonly Transferable[];
  readonly activity: WorkerActivity;
  readonly resolve: (reply: WorkerReply) => void;
  readonly reject: (error: Error) => void;
}

export class WorkerPool {
  readonly size: number;
  readonly #module: WorkerModule;
  readonly #resourceLimits: ResourceLimits | undefined;
  readonly #idle: Worker[] = [];
  readonly #running = new Map<Worker, PendingRequest & { readonly id: number }>();
  readonly #workers = new Set<Worker>();
  readonly #waiting: PendingRequest[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `A worker pool needs at least 1 thread, got ${options.size}; use 0 in jobs.workerThreads to compute without one.`,
      );
    }
    this.size = options.size;
    this.#module = options.workerModule;
    this.#resourceLimits = options.resourceLimits;
  }

  /** Number of threads started and not yet ended. */
  get threadCount(): number {
    return this.#workers.size;
  }

  /**
   * Posts `message` with an `id` added to the next free thread and resolves with the thread's reply.
   * The buffers in `transfer` move to the thread and are detached here, even when the request fails.
   *
   * @throws Nqo1Error ERR_INTERNAL when the thread ends before it replies, when the message cannot be
   *   posted, or when the pool is closed.
   */
  run(message: object, transfer: readonly Transferable[], activity: WorkerActivity): Promise<WorkerReply> {
    if (this.#closed) return Promise.reject(closedError(activity));
    return new Promise<WorkerReply>((resolve, reject) => {
      this.#waiting.push({ message, transfer, activity, resolve, reject });
      this.#dispatch();
    });
  }

  /** Fails the waiting requests, stops every worker thread and resolves when they have exited. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#waiting.splice(0)) pending.reject(closedError(pending.activity));
    await Promise.all([...this.#workers].map((worker) => worker.terminate()));
  }

  /** Starts waiting requests on idle workers, starting new workers up to the pool size. */
  #dispatch(): void {
    while (this.#waiting.length > 0) {
      const worker = this.#idle.pop() ?? (this.#workers.size < this.size ? this.#spawn() : undefined);
      if (worker === undefined) return;

      const pending = this.#waiting.shift()!;
      const id = this.#nextId++;
      try {
        worker.postMessage({ ...pending.message, id }, [...pending.transfer]);
      } catch (error) {
        // DataCloneError: a detached buffer, a duplicate in the transfer list or an uncloneable value.
        this.#idle.push(worker);
        pending.reject(postError(pending.activity, error));
        continue;
      }
      this.#running.set(worker, { ...pending, id });
      worker.ref();
    }
  }

  #spawn(): Worker {
    const worker = new Worker(this.#module.url, {
      ...(this.#resourceLimits === undefined ? {} : { resourceLimits: this.#resourceLimits }),
    });
    this.#workers.add(worker);
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      this.#settle(worker, reply);
    });
    worker.on('error', (error: Error) => {
      const code = (error as NodeJS.ErrnoException).code;
      this.#retire(
        worker,
        code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `out of memory, ${code}`
          : `${error.name}${code === undefined ? '' : ` ${code}`}`,
      );
    });
    worker.on('exit', (exitCode: number) => {
      this.#retire(worker, `exit code ${exitCode}`);
    });
    return worker;
  }

  #settle(worker: Worker, reply: WorkerReply): void {
    const pending = this.#running.get(worker);
    if (pending === undefined || pending.id !== reply.id) return;

    this.#running.delete(worker);
    worker.unref();
    this.#idle.push(worker);
    pending.resolve(reply);
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
      const { description, details } = pending.activity;
      pending.reject(
        this.#closed
          ? closedError(pending.activity)
          : new Nqo1Error(
              'ERR_INTERNAL',
              `The worker thread ${description} stopped (${reason}) before it replied, so the analysis ` +
                'failed. A later hook call for the study runs it again; if it keeps failing, report the study UID.',
              { details: { ...details, reason } },
            ),
      );
    }
    void worker.terminate();
    if (!this.#closed) this.#dispatch();
  }
}

function closedError(activity: WorkerActivity): Nqo1Error {
  return new Nqo1Error(
    'ERR_INTERNAL',
    `The worker pool was closed before a thread finished ${activity.description}.`,
    { details: { ...activity.details } },
  );
}

function postError(activity: WorkerActivity, error: unknown): Nqo1Error {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new Nqo1Error(
    'ERR_INTERNAL',
    `The request for a worker thread ${activity.description} could not be posted (${reason}).`,
    { details: { ...activity.details, reason }, cause: error },
  );
}
