/**
 * The table of CDS Hooks card feedback, in the result store's SQLite file: one row per
 * (card uuid, outcome, outcome timestamp), so a CDS client that sends the same feedback again
 * stores it once. Each row carries the model id and version of the card, so the accepted and
 * overridden outcomes can be counted per model version.
 *
 * A second table, `card_uuids`, maps each card uuid the service can build to the key of the stored
 * analysis and the card status it was derived from. The service fills it (see `card-origins.ts`),
 * because a card uuid is a hash that cannot be decoded back to its analysis. A row names the
 * analysis by its key, not its rowid, because VACUUM may renumber rowids. `analysis_rowid` only
 * records how far the service has read the `analyses` table.
 *
 * @see https://cds-hooks.hl7.org/2.0/#feedback
 */

/* eslint-disable @typescript-eslint/require-await -- better-sqlite3 answers synchronously; the methods are
   async only to implement the engine-neutral interfaces of `store.ts`. */

import type Database from 'better-sqlite3';
import type { FeedbackStore } from './store.js';

/**
 * `CREATE TABLE IF NOT EXISTS` keeps the schema set-up safe on a database written by an earlier
 * release, which has the `analyses` table but no feedback table.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS card_feedback (
  card_uuid                 TEXT NOT NULL,
  outcome                   TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
  outcome_timestamp         TEXT NOT NULL,
  service_id                TEXT NOT NULL,
  model_id                  TEXT NOT NULL,
  model_version             TEXT NOT NULL,
  card_status               TEXT,
  study_instance_uid        TEXT,
  accepted_suggestions_json TEXT,
  override_reason_system    TEXT,
  override_reason_code      TEXT,
  override_reason_display   TEXT,
  user_comment              TEXT,
  received_at               TEXT NOT NULL,
  PRIMARY KEY (card_uuid, outcome, outcome_timestamp)
);
CREATE INDEX IF NOT EXISTS card_feedback_model ON card_feedback (model_id, model_version, outcome);
CREATE TABLE IF NOT EXISTS card_uuids (
  card_uuid           TEXT NOT NULL PRIMARY KEY,
  analysis_rowid      INTEGER NOT NULL,
  study_instance_uid  TEXT NOT NULL,
  model_id            TEXT NOT NULL,
  model_version       TEXT NOT NULL,
  card_status         TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS card_uuids_analysis ON card_uuids (analysis_rowid);
CREATE TABLE IF NOT EXISTS card_uuid_statuses (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  statuses  TEXT NOT NULL
);
`;

/** Maximum number of override reason codes listed per model version by {@link FeedbackStore.countByModel}. */
export const MAX_REASONS_PER_MODEL = 20;

/** The card a feedback entry refers to, as far as the service could link its uuid. */
export interface CardOrigin {
  readonly modelId: string;
  readonly modelVersion: string;
  /**
   * Status part of the card uuid (`done-high`, `failed-series`, …) and the study the card was about.
   * Both are absent when the uuid matched no stored analysis, in which case `modelId` and
   * `modelVersion` are those the service used when the feedback arrived.
   */
  readonly cardStatus?: string;
  readonly studyInstanceUid?: string;
}

/** One card uuid the service can build for a stored analysis. */
export interface IndexedCardUuid {
  /** Lower-case card uuid. */
  readonly cardUuid: string;
  /** SQLite rowid of the analysis in the `analyses` table when it was indexed. */
  readonly analysisRowid: number;
  readonly origin: Required<CardOrigin>;
}

/** One feedback entry, validated, ready to store. */
export interface FeedbackRecord {
  /** Card uuid in lower case. */
  readonly cardUuid: string;
  readonly outcome: 'accepted' | 'overridden';
  /** The client's `outcomeTimestamp`, normalised to UTC `toISOString()` form so equal instants match. */
  readonly outcomeTimestamp: string;
  readonly serviceId: string;
  readonly origin: CardOrigin;
  readonly acceptedSuggestionIds?: readonly string[];
  readonly overrideReason?: { readonly system?: string; readonly code?: string; readonly display?: string };
  /** The clinician's free-text comment, already cut to its stored maximum length. Never logged. */
  readonly userComment?: string;
}

/** Count of one override reason coding. */
export interface OverrideReasonCount {
  readonly system: string | null;
  readonly code: string;
  readonly count: number;
}

/** Feedback counts of one model version. */
export interface ModelFeedbackCounts {
  readonly modelId: string;
  readonly modelVersion: string;
  readonly accepted: number;
  readonly overridden: number;
  /** Entries whose card uuid matched no stored analysis; they are counted under the service's model. */
  readonly unlinked: number;
  /** The most frequent override reason codes, at most {@link MAX_REASONS_PER_MODEL}, most frequent first. */
  readonly overrideReasons: readonly OverrideReasonCount[];
}

interface OutcomeCountRow {
  model_id: string;
  model_version: string;
  accepted: number;
  overridden: number;
  unlinked: number;
}

interface CardOriginRow {
  model_id: string;
  model_version: string;
  card_status: string;
  study_instance_uid: string;
}

interface ReasonCountRow {
  model_id: string;
  model_version: string;
  system: string | null;
  code: string;
  n: number;
}

/** Feedback and card uuid tables on the result store's open database; the result store creates them. */
export class SqliteFeedbackStore implements FeedbackStore {
  readonly #db: Database.Database;
  readonly #now: () => Date;
  /** The status list `card_uuids` was checked against in this process, as JSON; skips the check after it. */
  #indexedStatuses: string | undefined;

  /** Creates the table on `db` when it does not exist yet. */
  constructor(db: Database.Database, now: () => Date) {
    this.#db = db;
    this.#now = now;
    this.#db.exec(SCHEMA);
  }

  /**
   * Inserts the records in one transaction, skipping any whose (card uuid, outcome, outcome
   * timestamp) is already stored.
   *
   * @returns the number of records inserted.
   */
  async insert(records: readonly FeedbackRecord[]): Promise<number> {
    const receivedAt = this.#now().toISOString();
    const statement = this.#db.prepare(
      `INSERT INTO card_feedback (card_uuid, outcome, outcome_timestamp, service_id, model_id, model_version,
         card_status, study_instance_uid, accepted_suggestions_json, override_reason_system,
         override_reason_code, override_reason_display, user_comment, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (card_uuid, outcome, outcome_timestamp) DO NOTHING`,
    );

    const insertAll = this.#db.transaction((): number => {
      let inserted = 0;
      for (const record of records) {
        const { origin, overrideReason } = record;
        inserted += statement.run(
          record.cardUuid,
          record.outcome,
          record.outcomeTimestamp,
          record.serviceId,
          origin.modelId,
          origin.modelVersion,
          origin.cardStatus ?? null,
          origin.studyInstanceUid ?? null,
          record.acceptedSuggestionIds === undefined ? null : JSON.stringify(record.acceptedSuggestionIds),
          overrideReason?.system ?? null,
          overrideReason?.code ?? null,
          overrideReason?.display ?? null,
          record.userComment ?? null,
          receivedAt,
        ).changes;
      }
      return inserted;
    });
    return insertAll.immediate();
  }

  /**
   * Empties `card_uuids` unless it was built with exactly `statuses`, and records `statuses`, in one
   * transaction. The list of card statuses changes between releases; uuids of a status added since
   * would otherwise be missing for the analyses indexed before.
   */
  async resetCardUuidsUnlessIndexed(statuses: readonly string[]): Promise<void> {
    const expected = JSON.stringify(statuses);
    if (this.#indexedStatuses === expected) return;

    const reset = this.#db.transaction(() => {
      const row = this.#db
        .prepare<[], { statuses: string }>(`SELECT statuses FROM card_uuid_statuses WHERE id = 1`)
        .get();
      if (row?.statuses === expected) return;
      this.#db.exec(`DELETE FROM card_uuids`);
      this.#db
        .prepare(
          `INSERT INTO card_uuid_statuses (id, statuses) VALUES (1, ?)
           ON CONFLICT (id) DO UPDATE SET statuses = excluded.statuses`,
        )
        .run(expected);
    });
    reset.immediate();
    this.#indexedStatuses = expected;
  }

  /** Largest analysis rowid whose card uuids are stored, or 0 when none are. */
  async lastIndexedAnalysisRowid(): Promise<number> {
    const row = this.#db
      .prepare<[], { last: number }>(`SELECT COALESCE(MAX(analysis_rowid), 0) AS last FROM card_uuids`)
      .get();
    return row?.last ?? 0;
  }

  /** Stores card uuids in one transaction; a uuid already stored is kept as it is. */
  async indexCardUuids(cards: readonly IndexedCardUuid[]): Promise<void> {
    const statement = this.#db.prepare(
      `INSERT INTO card_uuids (card_uuid, analysis_rowid, study_instance_uid, model_id, model_version, card_status)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (card_uuid) DO NOTHING`,
    );
    const insertAll = this.#db.transaction(() => {
      for (const { cardUuid, analysisRowid, origin } of cards) {
        statement.run(
          cardUuid,
          analysisRowid,
          origin.studyInstanceUid,
          origin.modelId,
          origin.modelVersion,
          origin.cardStatus,
        );
      }
    });
    insertAll.immediate();
  }

  /** Returns the analysis key and card status of a stored card uuid, or undefined when it is not stored. */
  async findCardOrigin(cardUuid: string): Promise<CardOrigin | undefined> {
    const row = this.#db
      .prepare<[string], CardOriginRow>(
        `SELECT model_id, model_version, study_instance_uid, card_status FROM card_uuids WHERE card_uuid = ?`,
      )
      .get(cardUuid);
    if (row === undefined) return undefined;
    return {
      modelId: row.model_id,
      modelVersion: row.model_version,
      cardStatus: row.card_status,
      studyInstanceUid: row.study_instance_uid,
    };
  }

  /** Counts of accepted and overridden outcomes and override reason codes per model version. */
  async countByModel(): Promise<ModelFeedbackCounts[]> {
    const outcomeRows = this.#db
      .prepare<[], OutcomeCountRow>(
        `SELECT model_id, model_version,
                SUM(outcome = 'accepted') AS accepted,
                SUM(outcome = 'overridden') AS overridden,
                SUM(card_status IS NULL) AS unlinked
         FROM card_feedback
         GROUP BY model_id, model_version
         ORDER BY model_id, model_version`,
      )
      .all();
    const reasonRows = this.#db
      .prepare<[], ReasonCountRow>(
        `SELECT model_id, model_version, override_reason_system AS system, override_reason_code AS code,
                COUNT(*) AS n
         FROM card_feedback
         WHERE outcome = 'overridden' AND override_reason_code IS NOT NULL
         GROUP BY model_id, model_version, override_reason_system, override_reason_code
         ORDER BY n DESC, code, system`,
      )
      .all();

    return outcomeRows.map((row) => ({
      modelId: row.model_id,
      modelVersion: row.model_version,
      accepted: row.accepted,
      overridden: row.overridden,
      unlinked: row.unlinked,
      overrideReasons: reasonRows
        .filter((reason) => reason.model_id === row.model_id && reason.model_version === row.model_version)
        .slice(0, MAX_REASONS_PER_MODEL)
        .map((reason) => ({ system: reason.system, code: reason.code, count: reason.n })),
    }));
  }
}
