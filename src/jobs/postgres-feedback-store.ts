/**
 * Card feedback and the card uuid index on PostgreSQL, with the rules of the SQLite tables
 * (`feedback-store.ts` describes them). The tables are created by `postgres-schema.ts`.
 */

import {
  MAX_REASONS_PER_MODEL,
  type CardOrigin,
  type FeedbackRecord,
  type IndexedCardUuid,
  type ModelFeedbackCounts,
} from './feedback-store.js';
import type { PostgresPool } from './postgres-pool.js';
import type { FeedbackStore } from './store.js';

/**
 * Card uuids sent per INSERT by {@link PostgresFeedbackStore.indexCardUuids}. Six text arrays of this
 * length stay far below the 1 GB limit of one protocol message.
 */
const CARD_UUIDS_PER_INSERT = 5000;

interface OutcomeCountRow {
  model_id: string;
  model_version: string;
  accepted: string;
  overridden: string;
  unlinked: string;
}

interface ReasonCountRow {
  model_id: string;
  model_version: string;
  system: string | null;
  code: string;
  n: string;
}

/** Feedback and card uuid tables of the PostgreSQL store. */
export class PostgresFeedbackStore implements FeedbackStore {
  readonly #pool: PostgresPool;
  readonly #now: () => Date;
  /** The status list `card_uuids` was checked against in this process, as JSON; skips the check after it. */
  #indexedStatuses: string | undefined;

  constructor(pool: PostgresPool, now: () => Date) {
    this.#pool = pool;
    this.#now = now;
  }

  /**
   * Inserts the records in one transaction, skipping any whose (card uuid, outcome, outcome
   * timestamp) is already stored.
   *
   * @returns the number of records inserted.
   */
  async insert(records: readonly FeedbackRecord[]): Promise<number> {
    const receivedAt = this.#now().toISOString();
    return await this.#pool.transaction('storing card feedback', async (client) => {
      let inserted = 0;
      for (const record of records) {
        const { origin, overrideReason } = record;
        const result = await client.query(
          `INSERT INTO card_feedback (card_uuid, outcome, outcome_timestamp, service_id, model_id, model_version,
             card_status, study_instance_uid, accepted_suggestions_json, override_reason_system,
             override_reason_code, override_reason_display, user_comment, received_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13, $14)
           ON CONFLICT (card_uuid, outcome, outcome_timestamp) DO NOTHING`,
          [
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
          ],
        );
        inserted += result.rowCount ?? 0;
      }
      return inserted;
    });
  }

  /**
   * Empties `card_uuids` unless it was built with exactly `statuses`, and records `statuses`, in one
   * transaction. The row lock on `card_uuid_statuses` makes a second process wait and then find the
   * list already recorded, so the index is emptied once.
   */
  async resetCardUuidsUnlessIndexed(statuses: readonly string[]): Promise<void> {
    const expected = JSON.stringify(statuses);
    if (this.#indexedStatuses === expected) return;

    await this.#pool.transaction('resetting the card uuid index', async (client) => {
      // Creates the row when absent, so that FOR UPDATE has a row to lock on a new database.
      await client.query(
        `INSERT INTO card_uuid_statuses (id, statuses) VALUES (1, '') ON CONFLICT (id) DO NOTHING`,
      );
      const { rows } = await client.query<{ statuses: string }>(
        `SELECT statuses FROM card_uuid_statuses WHERE id = 1 FOR UPDATE`,
      );
      if (rows[0]?.statuses === expected) return;
      await client.query(`DELETE FROM card_uuids`);
      await client.query(`UPDATE card_uuid_statuses SET statuses = $1 WHERE id = 1`, [expected]);
    });
    this.#indexedStatuses = expected;
  }

  /** Largest analysis `seq` whose card uuids are stored, or 0 when none are. */
  async lastIndexedAnalysisRowid(): Promise<number> {
    const { rows } = await this.#pool.query<{ last: string }>(
      `SELECT COALESCE(MAX(analysis_rowid), 0) AS last FROM card_uuids`,
    );
    return Number(rows[0]?.last ?? 0);
  }

  /**
   * Stores card uuids in one transaction; a uuid already stored is kept as it is. The rows are sent
   * in uuid order, so two processes that index the same analyses take the uuids' index locks in the
   * same order and do not deadlock on them.
   */
  async indexCardUuids(cards: readonly IndexedCardUuid[]): Promise<void> {
    const sorted = [...cards].sort(compareCardUuids);
    await this.#pool.transaction('indexing card uuids', async (client) => {
      for (let start = 0; start < sorted.length; start += CARD_UUIDS_PER_INSERT) {
        const chunk = sorted.slice(start, start + CARD_UUIDS_PER_INSERT);
        await client.query(
          `INSERT INTO card_uuids (card_uuid, analysis_rowid, study_instance_uid, model_id, model_version, card_status)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])
           ON CONFLICT (card_uuid) DO NOTHING`,
          [
            chunk.map((card) => card.cardUuid),
            chunk.map((card) => card.analysisRowid),
            chunk.map((card) => card.origin.studyInstanceUid),
            chunk.map((card) => card.origin.modelId),
            chunk.map((card) => card.origin.modelVersion),
            chunk.map((card) => card.origin.cardStatus),
          ],
        );
      }
    });
  }

  /** Returns the analysis key and card status of a stored card uuid, or undefined when it is not stored. */
  async findCardOrigin(cardUuid: string): Promise<CardOrigin | undefined> {
    const { rows } = await this.#pool.query<{
      model_id: string;
      model_version: string;
      card_status: string;
      study_instance_uid: string;
    }>(
      `SELECT model_id, model_version, study_instance_uid, card_status FROM card_uuids WHERE card_uuid = $1`,
      [cardUuid],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      modelId: row.model_id,
      modelVersion: row.model_version,
      cardStatus: row.card_status,
      studyInstanceUid: row.study_instance_uid,
    };
  }

  /**
   * Counts of accepted and overridden outcomes and override reason codes per model version. Text is
   * ordered by bytes (COLLATE "C") and a missing coding system sorts first, as in SQLite.
   */
  async countByModel(): Promise<ModelFeedbackCounts[]> {
    const outcomes = await this.#pool.query<OutcomeCountRow>(
      `SELECT model_id, model_version,
              COUNT(*) FILTER (WHERE outcome = 'accepted') AS accepted,
              COUNT(*) FILTER (WHERE outcome = 'overridden') AS overridden,
              COUNT(*) FILTER (WHERE card_status IS NULL) AS unlinked
       FROM card_feedback
       GROUP BY model_id, model_version
       ORDER BY model_id COLLATE "C", model_version COLLATE "C"`,
    );
    const reasons = await this.#pool.query<ReasonCountRow>(
      `SELECT model_id, model_version, override_reason_system AS system, override_reason_code AS code,
              COUNT(*) AS n
       FROM card_feedback
       WHERE outcome = 'overridden' AND override_reason_code IS NOT NULL
       GROUP BY model_id, model_version, override_reason_system, override_reason_code
       ORDER BY n DESC, override_reason_code COLLATE "C", override_reason_system COLLATE "C" NULLS FIRST`,
    );

    return outcomes.rows.map((row) => ({
      modelId: row.model_id,
      modelVersion: row.model_version,
      accepted: Number(row.accepted),
      overridden: Number(row.overridden),
      unlinked: Number(row.unlinked),
      overrideReasons: reasons.rows
        .filter((reason) => reason.model_id === row.model_id && reason.model_version === row.model_version)
        .slice(0, MAX_REASONS_PER_MODEL)
        .map((reason) => ({ system: reason.system, code: reason.code, count: Number(reason.n) })),
    }));
  }
}

/** Orders card uuids by UTF-16 code units, the same order in every process. */
function compareCardUuids(a: IndexedCardUuid, b: IndexedCardUuid): number {
  if (a.cardUuid < b.cardUuid) return -1;
  if (a.cardUuid > b.cardUuid) return 1;
  return 0;
}
