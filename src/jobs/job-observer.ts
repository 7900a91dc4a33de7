/**
 * Events of the analysis queue and the study analyser, for the metrics and the audit trail. An
 * observer receives ids, codes and durations, never patient ids, tokens or pixel data.
 */

import type { ErrorCode } from '../errors.js';
import type { AnalysisJob } from './types.js';

/** Steps of one analysis whose durations are measured. */
export const JOB_STAGES = ['retrieve', 'decode', 'features', 'write-back'] as const;

export type JobStage = (typeof JOB_STAGES)[number];

/** Outcome of one FHIR write-back of a result (Observation, Device and Provenance). */
export type WriteBackStatus = 'written' | 'failed';

/** Finished analysis, reported by the queue once its row is stored. */
export interface AnalysisFinished {
  readonly job: AnalysisJob;
  /** Id of the stored row; absent when the row could not be read back. */
  readonly analysisId?: string;
  readonly outcome: 'done' | 'failed';
  /** Error code of a failed analysis. */
  readonly code?: ErrorCode;
  readonly durationMs: number;
}

/** Finished FHIR write-back, during an analysis or of a result that owed one. */
export interface WriteBackFinished {
  readonly job: AnalysisJob;
  readonly analysisId?: string;
  readonly outcome: WriteBackStatus;
  readonly code?: ErrorCode;
}

/** Receives the events of the queue and the analyser; every method must return without throwing. */
export interface JobObserver {
  analysisFinished(event: AnalysisFinished): void;
  writeBackFinished(event: WriteBackFinished): void;
}

/** Returns an observer that passes each event to every one of `observers`, in order. */
export function combineObservers(...observers: readonly JobObserver[]): JobObserver {
  return {
    analysisFinished(event) {
      for (const observer of observers) observer.analysisFinished(event);
    },
    writeBackFinished(event) {
      for (const observer of observers) observer.writeBackFinished(event);
    },
  };
}
