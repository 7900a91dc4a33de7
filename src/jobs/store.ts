/**
 * The store of analyses, card feedback, region pictures, chart records and the audit trail, as the
 * service uses it. Two engines implement it: SQLite (`result-store.ts`), the embedded default with an
 * in-process queue, and PostgreSQL (`postgres-store.ts`), which API and worker processes share.
 *
 * Every call is asynchronous so that the PostgreSQL store can reply over the network. Each call is
 * one statement or one transaction in both engines. So two processes that enqueue the same study
 * insert one row, and two workers never claim the same one.
 */

import type { RoiOverlay } from '../imaging/roi-overlay.js';
import type { ScoreResult } from '../model/result.js';
import type { AuditEvent, AuditQuery, AuditRecord } from './audit-trail.js';
import type { ChartRecord } from './chart-record-store.js';
import type { CardOrigin, FeedbackRecord, IndexedCardUuid, ModelFeedbackCounts } from './feedback-store.js';
import type { OverlaySliceInfo } from './overlay-store.js';
import type { AnalysisFailure, AnalysisJob, ResultKey, ResultStatus, StoredAnalysis } from './types.js';

/** A stored result whose Observation is still to be written, as {@link ResultStore.claimWriteBack} returns it. */
export interface OwedWriteBack {
  /** Id of the stored row. */
  readonly analysisId: string;
  readonly job: AnalysisJob & { readonly patientId: string; readonly imagingStudyId: string };
  readonly result: ScoreResult;
  /** CT acquisition date or time, when the analysis knew it. */
  readonly effectiveDateTime?: string;
}

/** The write-back details of a finished analysis, stored with its result by {@link ResultStore.markDone}. */
export interface DoneWriteBack {
  readonly effectiveDateTime?: string;
  /** The failure of the write-back during the analysis; the row then owes a write-back, retried later. */
  readonly failure?: AnalysisFailure;
}

/**
 * Key of a stored analysis with its insertion sequence number (the SQLite rowid, or the PostgreSQL
 * `seq` column), which grows with each inserted row.
 */
export interface IndexedResultKey extends ResultKey {
  readonly rowid: number;
}

/**
 * Write-back failures that another attempt cannot mend: the FHIR server has the Observation under
 * another patient (ERR_PATIENT_CONFLICT), or refused the request with a status that the same request
 * would get again (ERR_FHIR_REJECTED, see `write-back.ts`). Such a row stops owing a write-back until
 * the next start, after hospital IT has mended the cause; the stored error stays on the row.
 */
export const PERMANENT_WRITE_BACK_ERRORS: readonly string[] = ['ERR_PATIENT_CONFLICT', 'ERR_FHIR_REJECTED'];

/** Card feedback and the card uuid index (`feedback-store.ts` describes the tables). */
export interface FeedbackStore {
  /** Inserts the records in one transaction, skipping those already stored; returns how many were new. */
  insert(records: readonly FeedbackRecord[]): Promise<number>;
  /** Empties the card uuid index unless it was built with exactly `statuses`, and records them. */
  resetCardUuidsUnlessIndexed(statuses: readonly string[]): Promise<void>;
  /** Largest analysis sequence number whose card uuids are stored, or 0. */
  lastIndexedAnalysisRowid(): Promise<number>;
  /** Stores card uuids in one transaction; a uuid already stored is kept. */
  indexCardUuids(cards: readonly IndexedCardUuid[]): Promise<void>;
  findCardOrigin(cardUuid: string): Promise<CardOrigin | undefined>;
  countByModel(): Promise<ModelFeedbackCounts[]>;
}

/** The region pictures of finished analyses (`overlay-store.ts`). */
export interface OverlayStore {
  /** Stores the pictures of one analysis, replacing those stored before, in one transaction. */
  save(analysisId: string, overlay: RoiOverlay): Promise<void>;
  list(analysisId: string): Promise<OverlaySliceInfo[]>;
  png(analysisId: string, sliceIndex: number): Promise<Uint8Array | undefined>;
}

/** Records of results in the chart by clinicians (`chart-record-store.ts`). */
export interface ChartRecordStore {
  add(record: ChartRecord): Promise<void>;
  latestForStudy(key: {
    readonly studyInstanceUid: string;
    readonly modelId: string;
    readonly modelVersion: string;
  }): Promise<ChartRecord | undefined>;
}

/** The append-only audit trail (`audit-trail.ts`). */
export interface AuditTrail {
  /** Appends one event stamped with the current time. */
  record(event: AuditEvent): Promise<void>;
  /** Returns at most `query.limit` rows in sequence order that match the query. */
  list(query: AuditQuery): Promise<AuditRecord[]>;
}

/**
 * The analyses table and the tables beside it. A row moves pending → running → done | failed; the
 * method comments of the SQLite store (`result-store.ts`) give each call's exact rule, which the
 * PostgreSQL store follows.
 */
export interface ResultStore {
  /** Engine name for logs and `/readyz`. */
  readonly engine: 'sqlite' | 'postgres';
  readonly feedback: FeedbackStore;
  readonly overlays: OverlayStore;
  readonly chartRecords: ChartRecordStore;
  readonly audit: AuditTrail;

  /** Inserts a pending row unless the key has one; true when inserted. */
  insertPending(job: AnalysisJob): Promise<boolean>;
  getResult(key: ResultKey): Promise<StoredAnalysis | undefined>;
  /** Gives a row enqueued without FHIR ids the ids of `job`; returns the row after the update. */
  bindFhirIds(job: AnalysisJob): Promise<StoredAnalysis | undefined>;
  /** Registers `listener` to run in this process after {@link bindFhirIds} gave a row its ids. */
  onFhirIdsBound(listener: () => void): void;
  getById(id: string): Promise<StoredAnalysis | undefined>;
  /** Every row of one study for one model version: the automatic row first, then the newest. */
  listByStudy(studyInstanceUid: string, modelId: string, modelVersion: string): Promise<StoredAnalysis[]>;
  /** Keys of the rows inserted after sequence number `rowid`, in insertion order. */
  keysAfter(rowid: number): Promise<IndexedResultKey[]>;
  /** Moves the oldest pending row to running and returns its job. */
  claimPending(): Promise<AnalysisJob | undefined>;
  /**
   * Moves the row of `key` to running when it is pending, or running since before `runningBefore`
   * (its worker stopped), for a queue that delivers the job itself (pg-boss). Returns the job, or
   * undefined when the row is done, failed, absent or running in another worker, so a job
   * delivered twice is computed once.
   */
  claimKey(key: ResultKey, runningBefore: Date): Promise<AnalysisJob | undefined>;
  /**
   * Renews the update time of the row of `key` while it is running, so that a live worker's long
   * analysis never looks stalled to {@link claimKey} and {@link listStalled}. Returns false when the
   * row is no longer running.
   */
  touchRunning(key: ResultKey): Promise<boolean>;
  markDone(
    key: ResultKey,
    result: ScoreResult,
    observationId?: string,
    writeBack?: DoneWriteBack,
  ): Promise<void>;
  /** Takes the oldest row that owes a write-back and was not attempted since `retryBefore`. */
  claimWriteBack(retryBefore: Date): Promise<OwedWriteBack | undefined>;
  recordObservation(key: ResultKey, observationId: string): Promise<void>;
  recordWriteBackFailure(key: ResultKey, failure: AnalysisFailure): Promise<void>;
  /** Makes every owed write-back due now and lifts permanent stops; returns how many are owed. */
  resetWriteBackAttempts(): Promise<number>;
  countOwedWriteBacks(): Promise<number>;
  countStoppedWriteBacks(): Promise<number>;
  markFailed(key: ResultKey, failure: AnalysisFailure): Promise<void>;
  /** Moves a failed row back to pending when it failed before `before` (any time when null). */
  requeueFailed(key: ResultKey, before: Date | null): Promise<boolean>;
  /**
   * Keys of at most `limit` rows that may have no queued job: pending since before `pendingBefore`,
   * or running since before `runningBefore` (their worker stopped). For the pg-boss queue, which
   * queues them again; oldest first.
   */
  listStalled(pendingBefore: Date, runningBefore: Date, limit: number): Promise<ResultKey[]>;
  /** Moves rows left running back to pending; for the embedded queue at start-up only. */
  requeueRunning(): Promise<number>;
  countByStatus(): Promise<Record<ResultStatus, number>>;
  /** Runs a trivial query, and throws when the store cannot run it. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
