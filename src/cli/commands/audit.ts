/**
 * `nqo1-cds audit`: exports the audit trail of the result store (`src/jobs/audit-trail.ts`) as JSON
 * Lines, one event per line in sequence order, for the hospital's audit or SIEM system. It reads the
 * store of `store.engine` (the SQLite file of `store.sqlitePath`, or the PostgreSQL database) and may
 * run while the service runs.
 */

import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';

import { Nqo1Error } from '../../errors.js';
import { loadConfig } from '../../server/config.js';
import { openStore } from '../../server/store-engine.js';

export interface AuditOptions {
  readonly config?: string;
  /** Inclusive start, an ISO 8601 date or time. */
  readonly since?: string;
  /** Exclusive end, an ISO 8601 date or time. */
  readonly until?: string;
}

/** Rows read per query, so a long trail is never held in memory at once. */
const PAGE_ROWS = 1000;

/**
 * Writes the events recorded in [since, until) to `out` and returns how many it wrote.
 *
 * @throws Nqo1Error `ERR_REQUEST_INVALID` naming `--since` or `--until` when it is not a date.
 * @throws Nqo1Error `ERR_CONFIG_INVALID` when `store.sqlitePath` names a file that does not exist.
 */
export async function auditCommand(options: AuditOptions, out: Writable = process.stdout): Promise<number> {
  const since = toIsoTime(options.since, '--since');
  const until = toIsoTime(options.until, '--until');
  const config = loadConfig(options.config === undefined ? {} : { configPath: options.config });
  // Opening a missing file would create an empty store and export nothing, like a store without events.
  if (
    config.store.engine === 'sqlite' &&
    config.store.sqlitePath !== ':memory:' &&
    !existsSync(config.store.sqlitePath)
  ) {
    throw new Nqo1Error(
      'ERR_CONFIG_INVALID',
      `store.sqlitePath names ${config.store.sqlitePath}, which does not exist; point it at the service's result store.`,
    );
  }
  const store = await openStore(config);

  let written = 0;
  try {
    let afterSequence = 0;
    for (;;) {
      const page = await store.audit.list({
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
        afterSequence,
        limit: PAGE_ROWS,
      });
      if (page.length === 0) break;

      let text = '';
      for (let i = 0; i < page.length; i++) text += `${JSON.stringify(page[i])}\n`;
      if (!out.write(text)) await new Promise((resolve) => out.once('drain', resolve));
      written += page.length;
      afterSequence = page[page.length - 1]?.sequence ?? afterSequence;
    }
  } finally {
    await store.close();
  }
  return written;
}

/** Converts a date or time option to the stored ISO 8601 UTC form; undefined when absent. */
function toIsoTime(value: string | undefined, option: string): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `${option} ${JSON.stringify(value.slice(0, 40))} is not a date or time; use ISO 8601, e.g. 2026-12-01 or 2026-12-01T08:00:00Z.`,
    );
  }
  return new Date(time).toISOString();
}
