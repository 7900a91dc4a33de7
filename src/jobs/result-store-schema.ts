/**
 * The `analyses` table of the result store, and the upgrade of a database file written by an older
 * release.
 *
 * A row's key is (Study Instance UID, requested series, requested segmentation, model id, model
 * version). The two requested columns hold the Series Instance UID and the SEG or RTSTRUCT SOP
 * Instance UID that the SMART app asked for. '' means the service's automatic choice, which is what
 * hooks, PACS notifications and the QIDO poller enqueue and what hooks read. The columns are
 * NOT NULL because SQLite treats NULLs in a primary key as distinct, so two automatic rows of one
 * study could coexist.
 *
 * Files written before the requested columns existed are keyed by (study, model id, model version).
 * SQLite cannot change the primary key of a table in place, so {@link openAnalysesTable} rebuilds
 * the table in one transaction: it creates the new table, copies every row with its rowid, drops
 * the old table and renames the new one (https://www.sqlite.org/lang_altertable.html#otheralter).
 * Rowids are kept because the card uuid index (`card_uuids.analysis_rowid`) records how far it has
 * read the table.
 */

import type Database from 'better-sqlite3';

/** Columns of the `analyses` table, without the primary key clause. */
const ANALYSES_COLUMNS_SQL = `
  id                  TEXT NOT NULL UNIQUE,
  study_instance_uid  TEXT NOT NULL,
  requested_series_instance_uid           TEXT NOT NULL DEFAULT '',
  requested_segmentation_sop_instance_uid TEXT NOT NULL DEFAULT '',
  model_id            TEXT NOT NULL,
  model_version       TEXT NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  job_json            TEXT NOT NULL,
  result_json         TEXT,
  observation_id      TEXT,
  effective_date_time TEXT,
  writeback_attempted_at  TEXT,
  writeback_error_code    TEXT,
  writeback_error_message TEXT,
  error_code          TEXT,
  error_message       TEXT,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL`;

/** Columns of the primary key, in the order of the key conditions in `result-store.ts`. */
export const KEY_COLUMNS =
  'study_instance_uid, requested_series_instance_uid, requested_segmentation_sop_instance_uid, model_id, model_version';

/** Columns that the table had before the requested series and segmentation joined the key. */
const COPIED_COLUMNS = [
  'id',
  'study_instance_uid',
  'model_id',
  'model_version',
  'status',
  'job_json',
  'result_json',
  'observation_id',
  'effective_date_time',
  'writeback_attempted_at',
  'writeback_error_code',
  'writeback_error_message',
  'error_code',
  'error_message',
  'created_at',
  'updated_at',
].join(', ');

/** Columns added after the first release, with their types; added to an older file on open. */
const ADDED_COLUMNS: readonly (readonly [string, string])[] = [
  ['effective_date_time', 'TEXT'],
  ['writeback_attempted_at', 'TEXT'],
  ['writeback_error_code', 'TEXT'],
  ['writeback_error_message', 'TEXT'],
];

/** Temporary name of the rebuilt table while the old one still exists. */
const REBUILT_TABLE = 'analyses_rebuilt';

function createAnalysesTableSql(name: string): string {
  return `CREATE TABLE ${name} (${ANALYSES_COLUMNS_SQL},
  PRIMARY KEY (${KEY_COLUMNS})
);`;
}

const CREATE_INDEXES = `CREATE INDEX IF NOT EXISTS analyses_pending ON analyses (status, created_at);`;

/**
 * Creates the `analyses` table in a new database, or brings the table of an older file to the
 * current schema in one transaction: adds missing columns, then rebuilds the table when its key lacks the requested
 * series and segmentation. Every existing row keeps its id, rowid, status and result and becomes an
 * automatic row ('' in both requested columns).
 *
 * @returns the number of rows copied by a rebuild, or 0 when no rebuild was needed.
 */
export function openAnalysesTable(db: Database.Database): number {
  const present = columnNames(db);
  if (present.size === 0) {
    db.exec(createAnalysesTableSql('analyses'));
    db.exec(CREATE_INDEXES);
    return 0;
  }

  let copied = 0;
  const upgrade = db.transaction(() => {
    for (const [name, type] of ADDED_COLUMNS) {
      if (!present.has(name)) db.exec(`ALTER TABLE analyses ADD COLUMN ${name} ${type}`);
    }
    if (present.has('requested_series_instance_uid')) return;

    db.exec(`DROP TABLE IF EXISTS ${REBUILT_TABLE}`);
    db.exec(createAnalysesTableSql(REBUILT_TABLE));
    copied = db
      .prepare(
        `INSERT INTO ${REBUILT_TABLE} (rowid, ${COPIED_COLUMNS})
         SELECT rowid, ${COPIED_COLUMNS} FROM analyses ORDER BY rowid`,
      )
      .run().changes;
    db.exec('DROP TABLE analyses');
    db.exec(`ALTER TABLE ${REBUILT_TABLE} RENAME TO analyses`);
  });
  upgrade.immediate();
  db.exec(CREATE_INDEXES);
  return copied;
}

function columnNames(db: Database.Database): Set<string> {
  return new Set(
    db
      .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('analyses')`)
      .all()
      .map((column) => column.name),
  );
}
