/**
 * The tables of the PostgreSQL store and their migrations. Table and column names are those of the
 * SQLite store (`result-store-schema.ts`, `feedback-store.ts`, `overlay-store.ts`,
 * `chart-record-store.ts`, `audit-trail.ts`), with these differences:
 *
 * - `analyses.seq` and `chart_records.seq` (identity columns) take the place of SQLite's rowid, and
 *   `audit_events.sequence` is an identity column instead of `INTEGER PRIMARY KEY AUTOINCREMENT`.
 * - `job_json`, `result_json` and `accepted_suggestions_json` are `jsonb`.
 * - Times stay ISO 8601 text written by the store's clock (`Date.toISOString()`), as in SQLite. Their
 *   columns use the "C" collation, which compares bytes like SQLite's BINARY, so ordering and the
 *   `since`/`until` comparisons of the audit export match SQLite under any database locale.
 *
 * {@link migratePostgresSchema} runs at every open. It holds a transaction-level advisory lock, so that
 * processes that start together apply each migration once, and records the version it reached in
 * `store_schema_version`. A later release appends a migration to {@link MIGRATIONS}; a database
 * written by a newer release is rejected.
 */

import { Nqo1Error } from '../errors.js';
import type { PostgresPool } from './postgres-pool.js';
import { KEY_COLUMNS } from './result-store-schema.js';

/**
 * First key of every advisory lock this store takes (`NQO1` in ASCII); the second key names the lock.
 * PostgreSQL keeps two-key locks apart from one-key locks such as those of pg-boss.
 */
export const ADVISORY_LOCK_NAMESPACE = 0x4e514f31;

/** Second keys of the store's advisory locks under {@link ADVISORY_LOCK_NAMESPACE}. */
export const ADVISORY_LOCKS = {
  /** Held while the schema is created or migrated. */
  schema: 1,
  /** Held by each insert into `analyses` until it commits (see `postgres-store.ts`). */
  analysesInsert: 2,
  /** Held by each insert into `audit_events` until it commits (see `postgres-audit-trail.ts`). */
  auditInsert: 3,
} as const;

/**
 * First key of the advisory lock of one analysis's pictures; the second key is `hashtext(analysis id)`.
 * A separate namespace keeps those hashes apart from {@link ADVISORY_LOCKS}.
 */
export const OVERLAY_LOCK_NAMESPACE = 0x4e514f32;

const CREATE_VERSION_TABLE = `
CREATE TABLE IF NOT EXISTS store_schema_version (
  id          smallint PRIMARY KEY CHECK (id = 1),
  version     integer NOT NULL,
  migrated_at text NOT NULL
)`;

/** Version 1: every table of the SQLite store as of the release that added PostgreSQL. */
const VERSION_1 = `
CREATE TABLE analyses (
  seq                 bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id                  text NOT NULL UNIQUE,
  study_instance_uid  text NOT NULL,
  requested_series_instance_uid           text NOT NULL DEFAULT '',
  requested_segmentation_sop_instance_uid text NOT NULL DEFAULT '',
  model_id            text NOT NULL,
  model_version       text NOT NULL,
  status              text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  job_json            jsonb NOT NULL,
  result_json         jsonb,
  observation_id      text,
  effective_date_time text,
  writeback_attempted_at  text COLLATE "C",
  writeback_error_code    text,
  writeback_error_message text,
  error_code          text,
  error_message       text,
  created_at          text COLLATE "C" NOT NULL,
  updated_at          text COLLATE "C" NOT NULL,
  PRIMARY KEY (${KEY_COLUMNS})
);
CREATE INDEX analyses_pending ON analyses (created_at, seq) WHERE status = 'pending';
CREATE INDEX analyses_lacking_observation ON analyses (seq) WHERE status = 'done' AND observation_id IS NULL;

CREATE TABLE card_feedback (
  card_uuid                 text NOT NULL,
  outcome                   text NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
  outcome_timestamp         text COLLATE "C" NOT NULL,
  service_id                text NOT NULL,
  model_id                  text NOT NULL,
  model_version             text NOT NULL,
  card_status               text,
  study_instance_uid        text,
  accepted_suggestions_json jsonb,
  override_reason_system    text,
  override_reason_code      text,
  override_reason_display   text,
  user_comment              text,
  received_at               text COLLATE "C" NOT NULL,
  PRIMARY KEY (card_uuid, outcome, outcome_timestamp)
);
CREATE INDEX card_feedback_model ON card_feedback (model_id, model_version, outcome);

CREATE TABLE card_uuids (
  card_uuid           text NOT NULL PRIMARY KEY,
  analysis_rowid      bigint NOT NULL,
  study_instance_uid  text NOT NULL,
  model_id            text NOT NULL,
  model_version       text NOT NULL,
  card_status         text NOT NULL
);
CREATE INDEX card_uuids_analysis ON card_uuids (analysis_rowid);

CREATE TABLE card_uuid_statuses (
  id        smallint PRIMARY KEY CHECK (id = 1),
  statuses  text NOT NULL
);

CREATE TABLE analysis_overlays (
  analysis_id        text NOT NULL,
  slice_index        integer NOT NULL,
  tumour_voxel_count integer NOT NULL,
  width_px           integer NOT NULL,
  height_px          integer NOT NULL,
  window_level_hu    double precision NOT NULL,
  window_width_hu    double precision NOT NULL,
  png                bytea NOT NULL,
  PRIMARY KEY (analysis_id, slice_index)
);

CREATE TABLE chart_records (
  seq                     bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id                      text PRIMARY KEY,
  analysis_id             text NOT NULL,
  study_instance_uid      text NOT NULL,
  model_id                text NOT NULL,
  model_version           text NOT NULL,
  observation_id          text NOT NULL,
  observation_version_id  text,
  status                  text NOT NULL CHECK (status IN ('final', 'amended')),
  provenance_id           text,
  clinician_reference     text NOT NULL,
  clinician_display       text,
  recorded_at             text COLLATE "C" NOT NULL
);
CREATE INDEX chart_records_by_study ON chart_records (study_instance_uid, model_id, model_version, recorded_at);

CREATE TABLE audit_events (
  sequence           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recorded_at        text COLLATE "C" NOT NULL,
  action             text NOT NULL,
  actor_kind         text NOT NULL,
  actor_id           text NOT NULL,
  analysis_id        text,
  study_instance_uid text NOT NULL,
  model_id           text NOT NULL,
  model_version      text NOT NULL,
  outcome            text NOT NULL CHECK (outcome IN ('success', 'failure')),
  error_code         text
);
CREATE INDEX audit_events_time ON audit_events (recorded_at);
`;

/** Migration `i` brings the schema from version `i` to version `i + 1`. */
const MIGRATIONS: readonly string[] = [VERSION_1];

/** Schema version that this release writes. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** Versions before and after {@link migratePostgresSchema}; equal when nothing was applied. */
export interface SchemaMigration {
  readonly fromVersion: number;
  readonly toVersion: number;
}

/**
 * Creates the tables in an empty database, or applies the migrations that a database of an older
 * release lacks, in one transaction under the schema advisory lock.
 *
 * @throws Nqo1Error `ERR_CONFIG_INVALID` when a newer release wrote the database.
 */
export async function migratePostgresSchema(pool: PostgresPool, now: () => Date): Promise<SchemaMigration> {
  return await pool.transaction('opening the store', async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [
      ADVISORY_LOCK_NAMESPACE,
      ADVISORY_LOCKS.schema,
    ]);
    await client.query(CREATE_VERSION_TABLE);
    const stored = await client.query<{ version: number }>(
      'SELECT version FROM store_schema_version WHERE id = 1',
    );
    const fromVersion = stored.rows[0]?.version ?? 0;
    if (fromVersion > POSTGRES_SCHEMA_VERSION) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `The PostgreSQL database has store schema version ${fromVersion}, but this release knows versions up ` +
          `to ${POSTGRES_SCHEMA_VERSION}. Run the release that wrote it, or point the store at another database.`,
        { details: { schemaVersion: fromVersion, knownVersion: POSTGRES_SCHEMA_VERSION } },
      );
    }

    for (let version = fromVersion; version < POSTGRES_SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version]!);
    }
    if (fromVersion < POSTGRES_SCHEMA_VERSION) {
      await client.query(
        `INSERT INTO store_schema_version (id, version, migrated_at) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at`,
        [POSTGRES_SCHEMA_VERSION, now().toISOString()],
      );
    }
    return { fromVersion, toVersion: POSTGRES_SCHEMA_VERSION };
  });
}
