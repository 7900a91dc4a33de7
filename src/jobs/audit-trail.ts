/**
 * The audit trail, in the result store's SQLite file: one row per computation, result read, chart
 * record and FHIR write-back, saying who acted, on what, when and with which model version.
 *
 * A row contains no patient data: the actor is a CDS client id, a SMART client id, the clinician's
 * `fhirUser` reference (`Practitioner/123`) or `service`, and the object is the analysis id (a
 * random UUID) with its Study Instance UID. Patient ids, tokens and request bodies are never passed
 * in. Rows are only appended; `nqo1-cds audit` exports them as JSON Lines.
 */

/* eslint-disable @typescript-eslint/require-await -- better-sqlite3 answers synchronously; the methods are
   async only to implement the engine-neutral interfaces of `store.ts`. */

import type Database from 'better-sqlite3';

import type { ErrorCode } from '../errors.js';
import type { AuditTrail } from './store.js';

/** The audited actions. */
export const AUDIT_ACTIONS = [
  /** The queue computed (or failed to compute) an analysis. */
  'compute',
  /** `GET /api/analyses/{id}` returned one analysis. */
  'read',
  /** `GET /api/analyses` returned this analysis among its matches. */
  'search',
  /** `GET /api/analyses/{id}/overlay` listed the region pictures. */
  'overlay-list',
  /** `POST /api/analyses/{id}/record` recorded the result in the chart. */
  'chart-record',
  /** The queue or the analyser wrote (or failed to write) the Observation to FHIR. */
  'write-back',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * Actor of an event. For `service` (the queue) the `id` is `service`. For `smart-app` it is the
 * app's OAuth client id, because the service cannot read the user behind the app's access token.
 * For `fhir-user` it is the clinician's `fhirUser` reference that the app sent.
 */
export interface AuditActor {
  readonly kind: 'service' | 'smart-app' | 'fhir-user';
  readonly id: string;
}

/** The actor of work the service does by itself. */
export const SERVICE_ACTOR: AuditActor = { kind: 'service', id: 'service' };

/** One audit event as recorded. */
export interface AuditEvent {
  readonly action: AuditAction;
  readonly actor: AuditActor;
  readonly analysisId?: string;
  readonly studyInstanceUid: string;
  readonly modelId: string;
  readonly modelVersion: string;
  readonly outcome: 'success' | 'failure';
  /** Error code of a failure. */
  readonly errorCode?: ErrorCode;
}

/** One stored row: the event with its sequence number and ISO 8601 time. */
export interface AuditRecord extends AuditEvent {
  readonly sequence: number;
  readonly recordedAt: string;
}

/** Filter of {@link AuditTrail.list}. Times are ISO 8601 in UTC, compared as text as they are stored. */
export interface AuditQuery {
  /** Inclusive lower bound of `recordedAt`. */
  readonly since?: string;
  /** Exclusive upper bound of `recordedAt`. */
  readonly until?: string;
  /** Returns only rows after this sequence number, for paging. */
  readonly afterSequence?: number;
  readonly limit: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_events (
  sequence           INTEGER PRIMARY KEY AUTOINCREMENT,
  recorded_at        TEXT NOT NULL,
  action             TEXT NOT NULL,
  actor_kind         TEXT NOT NULL,
  actor_id           TEXT NOT NULL,
  analysis_id        TEXT,
  study_instance_uid TEXT NOT NULL,
  model_id           TEXT NOT NULL,
  model_version      TEXT NOT NULL,
  outcome            TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  error_code         TEXT
);
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (recorded_at);
`;

interface AuditRow {
  sequence: number;
  recorded_at: string;
  action: AuditAction;
  actor_kind: AuditActor['kind'];
  actor_id: string;
  analysis_id: string | null;
  study_instance_uid: string;
  model_id: string;
  model_version: string;
  outcome: 'success' | 'failure';
  error_code: ErrorCode | null;
}

/** Maximum length of a stored actor id. A longer `fhirUser` reference is cut, so the event is still kept. */
export const MAX_ACTOR_ID_CHARS = 256;

/** The append-only audit table of one database. */
export class SqliteAuditTrail implements AuditTrail {
  readonly #db: Database.Database;
  readonly #now: () => Date;
  readonly #insert: Database.Statement;

  constructor(db: Database.Database, now: () => Date) {
    this.#db = db;
    this.#now = now;
    this.#db.exec(SCHEMA);
    this.#insert = this.#db.prepare(
      `INSERT INTO audit_events (recorded_at, action, actor_kind, actor_id, analysis_id, study_instance_uid,
         model_id, model_version, outcome, error_code)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** Appends one event stamped with the current time. */
  async record(event: AuditEvent): Promise<void> {
    this.#insert.run(
      this.#now().toISOString(),
      event.action,
      event.actor.kind,
      event.actor.id.slice(0, MAX_ACTOR_ID_CHARS),
      event.analysisId ?? null,
      event.studyInstanceUid,
      event.modelId,
      event.modelVersion,
      event.outcome,
      event.errorCode ?? null,
    );
  }

  /** Returns at most `query.limit` rows in sequence order that match the query. */
  async list(query: AuditQuery): Promise<AuditRecord[]> {
    const rows = this.#db
      .prepare<[string, string, number, number], AuditRow>(
        `SELECT * FROM audit_events
         WHERE recorded_at >= ? AND recorded_at < ? AND sequence > ?
         ORDER BY sequence LIMIT ?`,
      )
      .all(query.since ?? '', query.until ?? '\uffff', query.afterSequence ?? 0, query.limit);
    return rows.map(toRecord);
  }
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    sequence: row.sequence,
    recordedAt: row.recorded_at,
    action: row.action,
    actor: { kind: row.actor_kind, id: row.actor_id },
    ...(row.analysis_id === null ? {} : { analysisId: row.analysis_id }),
    studyInstanceUid: row.study_instance_uid,
    modelId: row.model_id,
    modelVersion: row.model_version,
    outcome: row.outcome,
    ...(row.error_code === null ? {} : { errorCode: row.error_code }),
  };
}
