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
 * LIMITATION: `analyse` runs on the event loop that serves the hooks. Feature extraction moves to
 * worker threads when `jobs.workerThreads` ≥ 1 (`region-workers.ts`), but DICOM decoding and mask
 * reading stay synchronous steps here, so a hook that arrives during them waits until they end.
 * Running those steps in the worker threads too would remove the wait.
 */

import type { Logger } from 'pino';

import { ERROR_CODES, Nqo1Error, isNqo1Error } from '../errors.js';
import { truncateForLog } from '../server/logger.js';
import type { ResultWriter } from './analyse-study.js';
import type { JobObserver } from './job-observer.js';
import type { OwedWriteBack, ResultStore } from './result-store.js';
import type { AnalyseStudy, AnalysisFailure, AnalysisJob, AnalysisOutput, ResultKey } from './types.js';

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

export class AnalysisQueue {
  readonly #store: ResultStore;
  readonly #analyse: AnalyseStudy;
  readonly #log: Logger;
  readonly #retryFailedAfterMs: number;
  readonly #now: () => Date;
  readonly #writer: ResultWriter | undefined;
  readonly #retryWriteBackAfterMs: number;
  readonly #observer: JobObserver | undefined;

  #retryTimer: NodeJS.Timeout | undefined;
  #worker: Promise<void> | undefined;
  #wakeRequested = false;
  #started = false;
  #stopping = false;

  constructor(options: AnalysisQueueOptions) {
    this.#store = options.store;
    this.#analyse = options.analyse;
    this.#log = options.logger.child({ component: 'analysis-queue' });
    this.#retryFailedAfterMs = options.retryFailedAfterMs ?? DEFAULT_RETRY_FAILED_AFTER_MS;
    this.#now = options.now ?? (() => new Date());
    this.#writer = options.writer;
    this.#retryWriteBackAfterMs = options.retryWriteBackAfterMs ?? DEFAULT_RETRY_WRITE_BACK_AFTER_MS;
    this.#observer = options.observer;
    if (this.#writer !== undefined)
      this.#store.onFhirIdsBound(() => {
        this.#kick();
      });
  }

  /**
   * Requeues rows a previous process left running and starts working through pending rows.
   * Call once after construction.
   */
  start(): void {
    this.#started = true;
    const requeued = this.#store.requeueRunning();
    if (requeued > 0) this.#log.info({ requeued }, 'requeued analyses left running by a previous process');
    if (this.#writer !== undefined) {
      const owed = this.#store.resetWriteBackAttempts();
      if (owed > 0) this.#log.info({ owed }, 'write-backs owed by a previous process');
    }
    this.#kick();
  }

  /**
   * Adds `job` to the queue unless its study is already stored for that model and requested series
   * and segmentation, and returns at once. A failed row older than `retryFailedAfterMs` goes back to
   * pending, and so does any failed row with `options.retryFailedNow`.
   */
  enqueue(job: AnalysisJob, options: EnqueueOptions = {}): EnqueueOutcome {
    if (this.#stopping)
      throw new Nqo1Error('ERR_INTERNAL', 'The analysis queue is stopping; the job was not enqueued');

    let outcome: EnqueueOutcome = 'exists';
    if (this.#store.insertPending(job)) {
      outcome = 'enqueued';
    } else if (
      this.#store.requeueFailed(
        job,
        options.retryFailedNow === true ? null : new Date(this.#now().getTime() - this.#retryFailedAfterMs),
      )
    ) {
      outcome = 'requeued';
    }

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

    this.#worker = this.#runUntilIdle().finally(() => {
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
          : this.#store.claimWriteBack(new Date(this.#now().getTime() - this.#retryWriteBackAfterMs));
      if (owed !== undefined && this.#writer !== undefined) {
        await this.#writeBack(owed, this.#writer);
        continue;
      }
      // A write-back still owed but not yet due (its timer may fire a little before the interval has
      // passed on the wall clock) needs the timer armed again, or it would wait for the next wake.
      if (this.#writer !== undefined && this.#store.countOwedWriteBacks() > 0) this.#scheduleRetry();

      const job = this.#store.claimPending();
      if (job === undefined) return;
      await this.#run(job);
    }
  }

  /** Runs one job and records its outcome; never throws, so one bad study cannot stop the loop. */
  async #run(job: AnalysisJob): Promise<void> {
    const key: ResultKey = job;
    const log = this.#log.child({
      studyInstanceUid: job.studyInstanceUid,
      ...requestedChoice(job),
      modelId: job.modelId,
      modelVersion: job.modelVersion,
    });
    const startedAt = performance.now();

    try {
      const output = await this.#analyse(job);
      const { model } = output.result;
      if (model.id !== job.modelId || model.version !== job.modelVersion) {
        throw new Nqo1Error(
          'ERR_INTERNAL',
          `analyse returned a result for model ${model.id} ${model.version}, expected ${job.modelId} ${job.modelVersion}`,
        );
      }

      this.#store.markDone(key, output.result, output.observationId, {
        ...(output.effectiveDateTime === undefined ? {} : { effectiveDateTime: output.effectiveDateTime }),
        ...(output.writeBackFailure === undefined ? {} : { failure: output.writeBackFailure }),
      });
      const stored = this.#store.getResult(key);
      if (output.overlay !== undefined && stored !== undefined) {
        this.#store.overlays.save(stored.id, output.overlay);
      }
      if (output.writeBackFailure !== undefined) this.#scheduleRetry();
      const durationMs = performance.now() - startedAt;
      log.info({ durationMs: Math.round(durationMs) }, 'analysis done');
      this.#reportDone(job, stored?.id, output, durationMs);
    } catch (error) {
      const failure = toFailure(error);
      const errorName = untypedErrorName(error);
      // A typed error's message names UIDs, paths, settings and values, never patient data, so it is
      // logged. An untyped error's message comes from a library and may quote anything: only its
      // name is logged.
      log.warn(
        {
          code: failure.code,
          durationMs: Math.round(performance.now() - startedAt),
          ...(errorName === undefined ? { message: truncateForLog(failure.message) } : { errorName }),
        },
        'analysis failed',
      );
      this.#recordFailure(key, failure, log);
      const analysisId = this.#store.getResult(key)?.id;
      this.#observer?.analysisFinished({
        job,
        ...(analysisId === undefined ? {} : { analysisId }),
        outcome: 'failed',
        code: failure.code,
        durationMs: performance.now() - startedAt,
      });
    }
  }

  /**
   * Writes the Observation of one stored result and records its id. It catches every error: a failure
   * is recorded on the row, whose result stays shown, and retried after `retryWriteBackAfterMs`.
   */
  async #writeBack(owed: OwedWriteBack, writer: ResultWriter): Promise<void> {
    const { job } = owed;
    const log = this.#log.child({ studyInstanceUid: job.studyInstanceUid, modelId: job.modelId });
    try {
      const written = await writer.write({
        result: owed.result,
        patientId: job.patientId,
        imagingStudyId: job.imagingStudyId,
        studyInstanceUid: job.studyInstanceUid,
        ...(owed.effectiveDateTime === undefined ? {} : { effectiveDateTime: owed.effectiveDateTime }),
        ...(job.fhirServer === undefined ? {} : { fhirServer: job.fhirServer }),
      });
      this.#store.recordObservation(job, written.observationId);
      this.#observer?.writeBackFinished({ job, analysisId: owed.analysisId, outcome: 'written' });
      log.info(
        { observationId: written.observationId, activity: written.activity },
        'owed observation written',
      );
    } catch (error) {
      const failure = toFailure(error);
      const errorName = untypedErrorName(error);
      log.warn(
        {
          code: failure.code,
          retryAfterMs: this.#retryWriteBackAfterMs,
          ...(errorName === undefined ? { message: truncateForLog(failure.message) } : { errorName }),
        },
        'write-back failed; the result stays stored and the write-back is retried',
      );
      try {
        this.#store.recordWriteBackFailure(job, failure);
      } catch {
        log.error({ code: 'ERR_INTERNAL' }, 'cannot record write-back failure');
      }
      this.#observer?.writeBackFinished({
        job,
        analysisId: owed.analysisId,
        outcome: 'failed',
        code: failure.code,
      });
      this.#scheduleRetry();
    }
  }

  /** Reports a stored analysis, and the write-back it tried, to the observer. */
  #reportDone(
    job: AnalysisJob,
    analysisId: string | undefined,
    output: AnalysisOutput,
    durationMs: number,
  ): void {
    if (this.#observer === undefined) return;
    const id = analysisId === undefined ? {} : { analysisId };
    this.#observer.analysisFinished({ job, ...id, outcome: 'done', durationMs });
    if (output.observationId !== undefined) {
      this.#observer.writeBackFinished({ job, ...id, outcome: 'written' });
    } else if (output.writeBackFailure !== undefined) {
      this.#observer.writeBackFinished({ job, ...id, outcome: 'failed', code: output.writeBackFailure.code });
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

  #recordFailure(key: ResultKey, failure: AnalysisFailure, log: Logger): void {
    try {
      this.#store.markFailed(key, failure);
    } catch (error) {
      log.error(
        { code: 'ERR_INTERNAL', errorName: error instanceof Error ? error.name : typeof error },
        'cannot record failure',
      );
    }
  }
}

/** Lists the requested series and segmentation UIDs of `job` for a log line; empty for an automatic choice. */
function requestedChoice(job: AnalysisJob): Record<string, string> {
  return {
    ...(job.seriesInstanceUid === undefined ? {} : { requestedSeriesInstanceUid: job.seriesInstanceUid }),
    ...(job.segmentationSopInstanceUid === undefined
      ? {}
      : { requestedSegmentationSopInstanceUid: job.segmentationSopInstanceUid }),
  };
}

/**
 * Converts a thrown value to the failure stored for it. A typed error keeps its code and message (which name UIDs
 * and settings, never patient data); anything else becomes a generic `ERR_INTERNAL`.
 */
function toFailure(error: unknown): AnalysisFailure {
  if (isNqo1Error(error)) return { code: error.code, message: error.message };
  return { code: 'ERR_INTERNAL', message: ERROR_CODES.ERR_INTERNAL };
}

/** Name of an error that is not an {@link Nqo1Error}, for the log; undefined for a typed error. */
function untypedErrorName(error: unknown): string | undefined {
  if (isNqo1Error(error)) return undefined;
  if (error instanceof Error) return error.name;
  return typeof error;
}
