/**
 * The append-only audit trail on PostgreSQL, with the rules of the SQLite table (`audit-trail.ts`
 * describes what a row contains and never contains).
 *
 * Each insert holds an advisory lock until it commits, so events become visible in `sequence` order: a
 * reader that pages with `afterSequence` cannot pass an event whose insert commits later with a
 * smaller sequence number. The lock makes inserts of all processes take turns, one commit at a time.
 */

import type { AuditAction, AuditActor, AuditEvent, AuditQuery, AuditRecord } from './audit-trail.js';
import { MAX_ACTOR_ID_CHARS } from './audit-trail.js';
import type { ErrorCode } from '../errors.js';
import type { PostgresPool } from './postgres-pool.js';
import { ADVISORY_LOCK_NAMESPACE, ADVISORY_LOCKS } from './postgres-schema.js';
import type { AuditTrail } from './store.js';

interface AuditRow {
  /** int8, which node-postgres returns as a string. */
  sequence: string;
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

/** The audit table of the PostgreSQL store. */
export class PostgresAuditTrail implements AuditTrail {
  readonly #pool: PostgresPool;
  readonly #now: () => Date;

  constructor(pool: PostgresPool, now: () => Date) {
    this.#pool = pool;
    this.#now = now;
  }

  /** Appends one event stamped with the current time. */
  async record(event: AuditEvent): Promise<void> {
    await this.#pool.query(
      `WITH serialized AS (SELECT pg_advisory_xact_lock($1, $2))
       INSERT INTO audit_events (recorded_at, action, actor_kind, actor_id, analysis_id, study_instance_uid,
         model_id, model_version, outcome, error_code)
       SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM serialized`,
      [
        ADVISORY_LOCK_NAMESPACE,
        ADVISORY_LOCKS.auditInsert,
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
      ],
    );
  }

  /**
   * Returns at most `query.limit` rows in sequence order that match the query. `since` and `until`
   * are compared with `recorded_at` as text, byte by byte, as SQLite does.
   */
  async list(query: AuditQuery): Promise<AuditRecord[]> {
    const { rows } = await this.#pool.query<AuditRow>(
      `SELECT sequence, recorded_at, action, actor_kind, actor_id, analysis_id, study_instance_uid, model_id,
         model_version, outcome, error_code
       FROM audit_events
       WHERE ($1::text IS NULL OR recorded_at >= $1::text COLLATE "C")
         AND ($2::text IS NULL OR recorded_at < $2::text COLLATE "C")
         AND sequence > $3
       ORDER BY sequence LIMIT $4`,
      [query.since ?? null, query.until ?? null, query.afterSequence ?? 0, query.limit],
    );
    return rows.map(toRecord);
  }
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    sequence: Number(row.sequence),
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
