/**
 * The in-process analysis queue of the embedded deployment. The queue's state lives in the result
 * store (pending rows), so `enqueue` is one idempotent insert and a restarted process resumes the
 * rows left pending or running. One worker loop runs the injected `analyse` function on one job at
 * a time (concurrency 1: an analysis is CPU-bound).
 *
 * With a `writer`, the same loop also writes back stored results that owe an Observation (see
 * `ResultStore.claimWriteBack`): a result analysed before a hook bound its FHIR ids, or one whose
 * write-back failed. That step sends the stored result and never analyses again. Owed write-backs
 * go before pending analyses, since each is a few FHIR requests. A failed one waits
 * `retryWriteBackAfterMs`, and the queue wakes itself then.
 *
 * The work of each job is {@link JobRunner}'s, which the pg-boss queue of a scaled-out deployment
 * shares (`pg-boss-queue.ts`).
 *
 * With `jobs.workerThreads` ≥ 1, the CPU-bound steps of `analyse` (segmentation parse, CT
 * decoding, mask reading, case cut, features, region pictures) run in worker threads
 * (`analysis-workers.ts`), and this event loop only retrieves, posts and scores. With 0 threads they
 * run here, and a hook that arrives meanwhile waits for them.
 *
 * LIMITATION: a fatal V8 or native error in a thread still ends the whole process, because worker
 * threads share it. Decoding in child processes would contain such an error, at the cost of copying
 * the CT between processes.
 */

import type { Logger } from 'pino';

import { Nqo1Error } from '../errors.js';
import type { ResultWriter } from './analyse-study.js';
import type { JobObserver } from './job-observer.js';
import { JobRunner, requestedChoice } from './job-runner.js';
import type { ResultStore } from './store.js';
import type { AnalyseStudy, AnalysisJob } from './types.js';

/** Default wait before a failed analysis may be retried by a later enqueue: 15 minutes. */
export const DEFAULT_RETRY_FAILED_AFTER_MS = 15 * 60 * 1000;

/** Default wait before a failed write-back is tried again: 5 minutes. */
export const DEFAULT_RETRY_WRITE_BACK_AFTER_MS = 5 * 60 * 1000;

export interface AnalysisQueueOptions {
  readonly store: ResultStore;
  readonly analyse: AnalyseStudy;
  readonly logger: Logger;
  /**
   * Milliseconds after a failure before `enqueue` of the same study runs it again (a segmentation
   * may have been added since). Defaults to {@link DEFAULT_RETRY_FAILED_AFTER_MS}.
   */
  readonly retryFailedAfterMs?: number;
  /** Writes owed Observations; omit when write-back is not configured. */
  readonly writer?: ResultWriter;
  /** Milliseconds before a failed write-back is tried again; defaults to {@link DEFAULT_RETRY_WRITE_BACK_AFTER_MS}. */
  readonly retryWriteBackAfterMs?: number;
  /** Clock; tests freeze it. */
  readonly now?: () => Date;
  /** Receives each finished analysis and write-back, for the metrics and the audit trail. */
  readonly observer?: JobObserver;
}

/** Options of {@link AnalysisQueue.enqueue}. */
export interface EnqueueOptions {
  /**
   * Requeues a failed row at once rather than after `retryFailedAfterMs`, for a caller that knows
   * the study changed since the failure: a PACS notification follows newly stored instances.
   */
  readonly retryFailedNow?: boolean;
}

/** Result of `enqueue`: inserted a new row, requeued a failed one, or found the study already there. */
export type EnqueueOutcome = 'enqueued' | 'requeued' | 'exists';

/** Queue interface of the hook, the app's routes and the PACS notifications, embedded or pg-boss. */
export interface JobQueue {
  enqueue(job: AnalysisJob, options?: EnqueueOptions): Promise<EnqueueOutcome>;
  /** True while the queue accepts jobs (for `/readyz`). */
  isRunning(): boolean;
  /** Resolves when no analysis is pending or running (tests and benchmarks wait on it). */
  drain(): Promise<void>;
  /** Stops taking jobs and waits for the running ones. */
  stop(): Promise<void>;
}

/**
 * Stores `job` as pending unless its key has a row, or moves a failed row back to pending when it
 * failed before `retryFailedBefore` (at any time when null). Both queues enqueue through it.
 */
export async function storeJob(
  store: Pick<ResultStore, 'insertPending' | 'requeueFailed'>,
  job: AnalysisJob,
  retryFailedBefore: Date | null,
): Promise<EnqueueOutcome> {
  if (await store.insertPending(job)) return 'enqueued';
  if (await store.requeueFailed(job, retryFailedBefore)) return 'requeued';
  return 'exists';
}

export class AnalysisQueue implements JobQueue {
  readonly #store: ResultStore;
  readonly #runner: JobRunner;
  readonly #log: Logger;
  readonly #retryFailedAfterMs: number;
  readonly #now: () => Date;
  readonly #writer: ResultWriter | undefined;
  readonly #retryWriteBackAfterMs: number;

  #retryTimer: NodeJS.Timeout | undefined;
  #worker: Promise<void> | undefined;
  #wakeRequested = false;
  #started = false;
  #stopping = false;

  constructor(options: AnalysisQueueOptions) {
    this.#store = options.store;
    this.#log = options.logger.child({ component: 'analysis-queue' });
    this.#runner = new JobRunner({
      store: options.store,
      analyse: options.analyse,
      logger: this.#log,
      ...(options.observer === undefined ? {} : { observer: options.observer }),
    });
    this.#retryFailedAfterMs = options.retryFailedAfterMs ?? DEFAULT_RETRY_FAILED_AFTER_MS;
    this.#now = options.now ?? (() => new Date());
    this.#writer = options.writer;
    this.#retryWriteBackAfterMs = options.retryWriteBackAfterMs ?? DEFAULT_RETRY_WRITE_BACK_AFTER_MS;
    if (this.#writer !== undefined)
      this.#store.onFhirIdsBound(() => {
        this.#kick();
      });
  }

  /**
   * Requeues rows a previous process left running and starts working through pending rows.
   * Call once after construction.
   */
  async start(): Promise<void> {
    this.#started = true;
    const requeued = await this.#store.requeueRunning();
    if (requeued > 0) this.#log.info({ requeued }, 'requeued analyses left running by a previous process');
    if (this.#writer !== undefined) {
      const owed = await this.#store.resetWriteBackAttempts();
      if (owed > 0) this.#log.info({ owed }, 'write-backs owed by a previous process');
    }
    this.#kick();
  }

  /**
   * Adds `job` to the queue unless its study is already stored for that model and requested series
   * and segmentation, and resolves without waiting for the analysis, which may have started by then. A failed row older than `retryFailedAfterMs` goes back to
   * pending, and so does any failed row with `options.retryFailedNow`.
   */
  async enqueue(job: AnalysisJob, options: EnqueueOptions = {}): Promise<EnqueueOutcome> {
    if (this.#stopping)
      throw new Nqo1Error('ERR_INTERNAL', 'The analysis queue is stopping; the job was not enqueued');

    const outcome = await storeJob(
      this.#store,
      job,
      options.retryFailedNow === true ? null : new Date(this.#now().getTime() - this.#retryFailedAfterMs),
    );
    if (outcome !== 'exists') {
      this.#log.info(
        { studyInstanceUid: job.studyInstanceUid, ...requestedChoice(job), modelId: job.modelId, outcome },
        'analysis enqueued',
      );
      this.#kick();
    }
    return outcome;
  }

  /** Returns true after {@link start} and before {@link stop}, while the queue takes and runs jobs. */
  isRunning(): boolean {
    return this.#started && !this.#stopping;
  }

  /** Resolves when no job is running and none is pending. */
  async drain(): Promise<void> {
    while (this.#worker !== undefined) await this.#worker;
  }

  /** Stops taking new jobs and waits for the running one; pending rows stay for the next start. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#retryTimer);
    await this.drain();
  }

  #kick(): void {
    if (this.#stopping) return;
    if (this.#worker !== undefined) {
      this.#wakeRequested = true;
      return;
    }

    this.#worker = this.#runUntilIdle()
      .catch((error: unknown) => {
        // The store failed (a full disk, say); the claimed row stays running until the next start.
        this.#log.error(
          { code: 'ERR_INTERNAL', errorName: error instanceof Error ? error.name : typeof error },
          'analysis queue stopped on a store error',
        );
      })
      .finally(() => {
        this.#worker = undefined;
        if (this.#wakeRequested) this.#kick();
      });
  }

  async #runUntilIdle(): Promise<void> {
    for (;;) {
      this.#wakeRequested = false;
      if (this.#stopping) return;

      const owed =
        this.#writer === undefined
          ? undefined
          : await this.#store.claimWriteBack(new Date(this.#now().getTime() - this.#retryWriteBackAfterMs));
      if (owed !== undefined && this.#writer !== undefined) {
        if (!(await this.#runner.writeBack(owed, this.#writer))) this.#scheduleRetry();
        continue;
      }
      // A write-back still owed but not yet due (its timer may fire a little before the interval has
      // passed on the wall clock) needs the timer armed again, or it would wait for the next wake.
      if (this.#writer !== undefined && (await this.#store.countOwedWriteBacks()) > 0) this.#scheduleRetry();

      const job = await this.#store.claimPending();
      if (job === undefined) return;
      const outcome = await this.#runner.analyse(job);
      if (outcome.status === 'done' && outcome.writeBackFailed) this.#scheduleRetry();
    }
  }

  /** Wakes the worker once the retry interval of a failed write-back has passed. */
  #scheduleRetry(): void {
    if (this.#stopping || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#kick();
    }, this.#retryWriteBackAfterMs + 1);
    this.#retryTimer.unref();
  }
}
