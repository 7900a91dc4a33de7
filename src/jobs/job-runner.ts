/**
 * The work of one queued job, shared by both queues: the in-process queue of the embedded deployment
 * (`queue.ts`) and the pg-boss queue of worker processes (`pg-boss-queue.ts`). It runs one analysis
 * and stores its outcome, or writes one owed Observation and records it. Neither step throws: a
 * failure is stored on the row, so one bad study cannot stop a worker.
 */

import type { Logger } from 'pino';

import { ERROR_CODES, Nqo1Error, isNqo1Error } from '../errors.js';
import { truncateForLog } from '../server/logger.js';
import type { ResultWriter } from './analyse-study.js';
import type { JobObserver } from './job-observer.js';
import type { OwedWriteBack, ResultStore } from './store.js';
import type { AnalyseStudy, AnalysisFailure, AnalysisJob, AnalysisOutput, ResultKey } from './types.js';

export interface JobRunnerOptions {
  readonly store: ResultStore;
  readonly analyse: AnalyseStudy;
  readonly logger: Logger;
  /** Receives each finished analysis and write-back, for the metrics and the audit trail. */
  readonly observer?: JobObserver;
}

/** Outcome that {@link JobRunner.analyse} stored. */
export type AnalysisOutcome =
  /** A result, with or without its Observation. */
  | { readonly status: 'done'; readonly writeBackFailed: boolean }
  | { readonly status: 'failed'; readonly failure: AnalysisFailure };

export class JobRunner {
  readonly #store: ResultStore;
  readonly #analyse: AnalyseStudy;
  readonly #log: Logger;
  readonly #observer: JobObserver | undefined;

  constructor(options: JobRunnerOptions) {
    this.#store = options.store;
    this.#analyse = options.analyse;
    this.#log = options.logger;
    this.#observer = options.observer;
  }

  /**
   * Runs the analysis of a claimed (running) row and stores its result, pictures and write-back
   * state, or its typed failure. A failed analysis does not throw. A failure to store the outcome
   * throws, and the row stays running until the queue retries it.
   */
  async analyse(job: AnalysisJob): Promise<AnalysisOutcome> {
    const key: ResultKey = job;
    const log = this.#log.child({
      studyInstanceUid: job.studyInstanceUid,
      ...requestedChoice(job),
      modelId: job.modelId,
      modelVersion: job.modelVersion,
    });
    const startedAt = performance.now();

    let output: AnalysisOutput;
    try {
      output = await this.#analyse(job);
      const { model } = output.result;
      if (model.id !== job.modelId || model.version !== job.modelVersion) {
        throw new Nqo1Error(
          'ERR_INTERNAL',
          `analyse returned a result for model ${model.id} ${model.version}, expected ${job.modelId} ${job.modelVersion}`,
        );
      }
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
      await this.#recordFailure(key, failure, log);
      const analysisId = (await this.#store.getResult(key).catch(() => undefined))?.id;
      this.#observer?.analysisFinished({
        job,
        ...(analysisId === undefined ? {} : { analysisId }),
        outcome: 'failed',
        code: failure.code,
        durationMs: performance.now() - startedAt,
      });
      return { status: 'failed', failure };
    }

    await this.#store.markDone(key, output.result, output.observationId, {
      ...(output.effectiveDateTime === undefined ? {} : { effectiveDateTime: output.effectiveDateTime }),
      ...(output.writeBackFailure === undefined ? {} : { failure: output.writeBackFailure }),
    });
    const stored = await this.#store.getResult(key);
    if (output.overlay !== undefined && stored !== undefined) {
      await this.#store.overlays.save(stored.id, output.overlay);
    }
    const durationMs = performance.now() - startedAt;
    log.info({ durationMs: Math.round(durationMs) }, 'analysis done');
    this.#reportDone(job, stored?.id, output, durationMs);
    return { status: 'done', writeBackFailed: output.writeBackFailure !== undefined };
  }

  /**
   * Writes the Observation of one stored result and records its id. It catches every error: a failure
   * is recorded on the row, whose result stays shown, and the write-back stays owed.
   *
   * @returns true when the Observation was written.
   */
  async writeBack(owed: OwedWriteBack, writer: ResultWriter): Promise<boolean> {
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
      await this.#store.recordObservation(job, written.observationId);
      this.#observer?.writeBackFinished({ job, analysisId: owed.analysisId, outcome: 'written' });
      log.info(
        { observationId: written.observationId, activity: written.activity },
        'owed observation written',
      );
      return true;
    } catch (error) {
      const failure = toFailure(error);
      const errorName = untypedErrorName(error);
      log.warn(
        {
          code: failure.code,
          ...(errorName === undefined ? { message: truncateForLog(failure.message) } : { errorName }),
        },
        'write-back failed; the result stays stored and the write-back is retried',
      );
      try {
        await this.#store.recordWriteBackFailure(job, failure);
      } catch {
        log.error({ code: 'ERR_INTERNAL' }, 'cannot record write-back failure');
      }
      this.#observer?.writeBackFinished({
        job,
        analysisId: owed.analysisId,
        outcome: 'failed',
        code: failure.code,
      });
      return false;
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

  async #recordFailure(key: ResultKey, failure: AnalysisFailure, log: Logger): Promise<void> {
    try {
      await this.#store.markFailed(key, failure);
    } catch (error) {
      log.error(
        { code: 'ERR_INTERNAL', errorName: error instanceof Error ? error.name : typeof error },
        'cannot record failure',
      );
    }
  }
}

/** Lists the requested series and segmentation UIDs of `job` for a log line; empty for an automatic choice. */
export function requestedChoice(job: AnalysisJob): Record<string, string> {
  return {
    ...(job.seriesInstanceUid === undefined ? {} : { requestedSeriesInstanceUid: job.seriesInstanceUid }),
    ...(job.segmentationSopInstanceUid === undefined
      ? {}
      : { requestedSegmentationSopInstanceUid: job.segmentationSopInstanceUid }),
  };
}

/**
 * Converts a thrown value to the failure stored for it. A typed error keeps its code and message
 * (which name UIDs and settings, never patient data); anything else becomes a generic `ERR_INTERNAL`.
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
