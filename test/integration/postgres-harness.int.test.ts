/**
 * Checks the PostgreSQL test support that the result store and job queue tests build on: separate
 * databases per test file, a server of version 15 or newer on loopback, and a drop that also ends
 * open sessions.
 *
 * Needs PostgreSQL: `TEST_POSTGRES_URL`, or the server programs (Debian package `postgresql`)
 * for a temporary cluster. Without either the tests are skipped, except under `CI=true`, where they
 * fail.
 */
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import {
  assertLoopbackUrl,
  createTestDatabase,
  postgresSkipReason,
  redactPassword,
  type TestDatabase,
  urlHost,
} from '../support/postgres.js';

const skipReason = postgresSkipReason('the PostgreSQL harness test');

/** Runs one query on a fresh connection to `url` and returns the first row. */
async function queryRow<Row extends Record<string, unknown>>(url: string, sql: string): Promise<Row> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<Row>(sql);
    const row = result.rows[0];
    if (row === undefined) throw new Error(`no row from: ${sql}`);
    return row;
  } finally {
    await client.end();
  }
}

describe.skipIf(skipReason !== null)('PostgreSQL test harness', () => {
  let first: TestDatabase | undefined;
  let second: TestDatabase | undefined;

  beforeAll(async () => {
    first = await createTestDatabase();
    second = await createTestDatabase();
  });

  afterAll(async () => {
    await first?.drop();
    await second?.drop();
  });

  test('names each database uniquely', () => {
    expect(first!.name).toMatch(/^nqo1_test_[0-9a-f]{16}$/);
    expect(second!.name).toMatch(/^nqo1_test_[0-9a-f]{16}$/);
    expect(second!.name).not.toBe(first!.name);
    expect(new URL(first!.url).pathname).toBe(`/${first!.name}`);
    expect(new URL(second!.url).pathname).toBe(`/${second!.name}`);
  });

  test('connects each URL to its own database', async () => {
    const firstRow = await queryRow<{ name: string }>(first!.url, 'SELECT current_database() AS name');
    const secondRow = await queryRow<{ name: string }>(second!.url, 'SELECT current_database() AS name');
    expect(firstRow.name).toBe(first!.name);
    expect(secondRow.name).toBe(second!.name);
  });

  test('keeps a table in one database only', async () => {
    const creator = new Client({ connectionString: first!.url });
    await creator.connect();
    await creator.query('CREATE TABLE isolation_probe (id integer)');
    await creator.end();

    const inFirst = await queryRow<{ table: string | null }>(
      first!.url,
      "SELECT to_regclass('public.isolation_probe')::text AS table",
    );
    const inSecond = await queryRow<{ table: string | null }>(
      second!.url,
      "SELECT to_regclass('public.isolation_probe')::text AS table",
    );
    expect(inFirst.table).toBe('isolation_probe');
    expect(inSecond.table).toBeNull();
  });

  test('runs PostgreSQL 15 or newer', async () => {
    const row = await queryRow<{ version: string }>(
      first!.url,
      "SELECT current_setting('server_version_num') AS version",
    );
    expect(Number(row.version)).toBeGreaterThanOrEqual(150000);
  });

  test('connects over loopback only', async () => {
    const host = urlHost(first!.url);
    expect(host === '127.0.0.1' || host.startsWith('/'), `URL host ${host}`).toBe(true);

    // inet_server_addr() is the server's address of this connection, and null over a Unix socket.
    const row = await queryRow<{ address: string | null }>(
      first!.url,
      'SELECT host(inet_server_addr()) AS address',
    );
    expect([null, '127.0.0.1', '::1']).toContain(row.address);
  });

  test('drop ends open sessions and removes the database', async () => {
    const third = await createTestDatabase();
    const session = new Client({ connectionString: third.url });
    // The terminated session reports its end as an error event; without a listener it would crash the file.
    const sessionErrors: Error[] = [];
    session.on('error', (error) => sessionErrors.push(error));
    await session.connect();
    await session.query('SELECT 1');

    await third.drop();

    const row = await queryRow<{ count: string }>(
      first!.url,
      `SELECT count(*) AS count FROM pg_database WHERE datname = '${third.name}'`,
    );
    expect(row.count).toBe('0');
    expect(sessionErrors[0]?.message).toMatch(/terminating connection/);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await session.end().catch(() => undefined);
    await expect(third.drop()).resolves.toBeUndefined();
  });
});

describe('loopback check of TEST_POSTGRES_URL', () => {
  test.each([
    'postgres://u:p@127.0.0.1:55432/db',
    'postgres://u:p@127.0.0.2/db',
    'postgres://u:p@localhost:5432/db',
    'postgres://u:p@[::1]:5432/db',
    'postgres://u@%2Ftmp%2Fpg/db',
    'postgres:///db?host=/var/run/postgresql',
  ])('accepts %s', (url) => {
    expect(() => {
      assertLoopbackUrl(url);
    }).not.toThrow();
  });

  test.each([
    ['postgres://u:p@db.hospital.example:5432/db', 'db.hospital.example'],
    ['postgres://u:p@10.0.0.5/db', '10.0.0.5'],
    ['postgres://u:p@127.0.0.1.example/db', '127.0.0.1.example'],
    ['postgres://u:p@localhost/db?host=db.hospital.example', 'db.hospital.example'],
  ])('rejects %s', (url, host) => {
    expect(() => {
      assertLoopbackUrl(url);
    }).toThrow(`TEST_POSTGRES_URL names host "${host}"`);
  });

  test('hides the password in messages', () => {
    expect(redactPassword('postgres://nqo1_test:s3cret@127.0.0.1:55432/nqo1_test')).toBe(
      'postgres://nqo1_test:***@127.0.0.1:55432/nqo1_test',
    );
  });
});
