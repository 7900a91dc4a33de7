/**
 * Provides a PostgreSQL server for the tests of the PostgreSQL result store and job queue.
 *
 * The server is the one that `TEST_POSTGRES_URL` names (`.ci/run` starts one and sets it).
 * When that variable is unset, this module starts a temporary cluster once per test process: a new
 * data directory under the system temporary directory, TCP on 127.0.0.1 only, a free port, password
 * authentication, and the Unix socket inside that directory. The cluster is stopped and its
 * directory deleted when the process exits. PostgreSQL refuses to run as root, so under root the
 * cluster runs as the `postgres` system user through `runuser`.
 *
 * Each test file creates its own database with `createTestDatabase()`, so files can run in parallel
 * against one server.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { Client, escapeIdentifier } from 'pg';

import { findFreeLoopbackPort } from './orthanc.js';

const execFileAsync = promisify(execFile);

/** Environment variable with the URL of a PostgreSQL role that may create databases. */
export const TEST_POSTGRES_URL_VARIABLE = 'TEST_POSTGRES_URL';

/** Debian installs the server programs here, one `<major>/bin` directory per version, not on PATH. */
const DEBIAN_POSTGRES_ROOT = '/usr/lib/postgresql';

/** Oldest PostgreSQL major version the store and queue are tested against. */
const MIN_MAJOR_VERSION = 15;

/** Role and database that the temporary cluster creates for the tests, as `.ci/run` does. */
const TEST_ROLE = 'nqo1_test';

/** How long `pg_ctl start` waits for the server to accept connections, in seconds. */
const STARTUP_TIMEOUT_SECONDS = 60;

/** How long a client waits for a connection before it gives up, in milliseconds. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Number of server log lines kept to explain a failed start. */
const LOG_TAIL_LINES = 30;

/** A database that one test file owns. */
export interface TestDatabase {
  /** Database name, `nqo1_test_` followed by 16 hexadecimal digits. */
  readonly name: string;
  /** Connection URL for the database, with the same role and server as the admin URL. */
  readonly url: string;
  /** Terminates the connections to the database and drops it; a second call does nothing. */
  drop(): Promise<void>;
}

/**
 * Returns the directory that contains `initdb`, `pg_ctl` and `postgres`, or undefined when PostgreSQL
 * is not installed. The newest version under `/usr/lib/postgresql` wins over PATH.
 */
export function findPostgresBinDir(): string | undefined {
  if (existsSync(DEBIAN_POSTGRES_ROOT)) {
    const majorVersions = readdirSync(DEBIAN_POSTGRES_ROOT)
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => b - a);
    for (const major of majorVersions) {
      const binDir = path.join(DEBIAN_POSTGRES_ROOT, String(major), 'bin');
      if (hasServerPrograms(binDir)) return binDir;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && hasServerPrograms(dir)) return dir;
  }
  return undefined;
}

function hasServerPrograms(dir: string): boolean {
  return ['initdb', 'pg_ctl', 'postgres'].every((program) => existsSync(path.join(dir, program)));
}

/**
 * Returns why the tests cannot get a PostgreSQL server, or null when `TEST_POSTGRES_URL` is set
 * or a temporary cluster can be started. Connecting is not tried here, so a set variable that names
 * a stopped server fails later, in `postgresAdminUrl()`.
 */
export function postgresUnavailableReason(): string | null {
  if (testPostgresUrlFromEnv() !== undefined) return null;

  const fix = `install the Debian package "postgresql" (version ${MIN_MAJOR_VERSION} or newer), or set ${TEST_POSTGRES_URL_VARIABLE} to postgres://USER:PASSWORD@127.0.0.1:PORT/DATABASE for a role with CREATEDB`;
  const binDir = findPostgresBinDir();
  if (binDir === undefined) {
    return `PostgreSQL is not installed (no initdb, pg_ctl and postgres in ${DEBIAN_POSTGRES_ROOT}/*/bin or on PATH) and ${TEST_POSTGRES_URL_VARIABLE} is unset; ${fix}.`;
  }
  const major = installedMajorVersion(binDir);
  if (major === undefined || major < MIN_MAJOR_VERSION) {
    return `PostgreSQL in ${binDir} is version ${major ?? 'unknown'}, older than ${MIN_MAJOR_VERSION}, and ${TEST_POSTGRES_URL_VARIABLE} is unset; ${fix}.`;
  }
  if (isRoot() && !systemUserExists('postgres')) {
    return `The tests run as root, which PostgreSQL refuses, and there is no "postgres" system user to run it as; run the tests as another user, or ${fix}.`;
  }
  return null;
}

/**
 * Decides whether a test file that needs PostgreSQL runs. Returns null when a server is available.
 * When none is, it throws under `CI=true`, because CI provides one and a skip there would hide a
 * broken set-up. Elsewhere it prints why and returns the reason, for `describe.skipIf`.
 *
 * @param suite - Name of the test suite, for the message.
 */
export function postgresSkipReason(suite: string): string | null {
  const unavailable = postgresUnavailableReason();
  if (unavailable === null) return null;
  if (process.env.CI === 'true') throw new Error(`${suite} needs PostgreSQL under CI: ${unavailable}`);
  console.warn(`Skipping ${suite}: ${unavailable}`);
  return unavailable;
}

let adminUrlPromise: Promise<string | undefined> | undefined;

/**
 * Returns the URL of a role that may create databases: `TEST_POSTGRES_URL` after a connection
 * check, or else that of a temporary cluster started on the first call. Returns undefined when
 * `postgresUnavailableReason()` gives a reason.
 *
 * @throws Error when the variable names a host that is not loopback, when its server cannot be
 *   reached or is older than PostgreSQL 15, or when the temporary cluster does not start.
 */
export async function postgresAdminUrl(): Promise<string | undefined> {
  adminUrlPromise ??= resolveAdminUrl();
  return await adminUrlPromise;
}

async function resolveAdminUrl(): Promise<string | undefined> {
  const fromEnv = testPostgresUrlFromEnv();
  if (fromEnv !== undefined) {
    assertLoopbackUrl(fromEnv);
    await checkServer(fromEnv);
    return fromEnv;
  }
  if (postgresUnavailableReason() !== null) return undefined;
  return await startTemporaryCluster(findPostgresBinDir()!);
}

/**
 * Creates a database with a random name on the test server, for one test file.
 *
 * @throws Error when no PostgreSQL server is available, with the reason and the fix.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = await postgresAdminUrl();
  if (adminUrl === undefined) {
    throw new Error(`No PostgreSQL server for the tests: ${postgresUnavailableReason() ?? 'unknown reason'}`);
  }

  const name = `nqo1_test_${randomBytes(8).toString('hex')}`;
  await runAdminStatement(adminUrl, `CREATE DATABASE ${escapeIdentifier(name)}`);

  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    dropped = true;
    // FORCE (PostgreSQL 13+) terminates the sessions still connected, such as a pool a test left open.
    await runAdminStatement(adminUrl, `DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
  };
  return { name, url: databaseUrl(adminUrl, name), drop };
}

/**
 * Throws unless the URL names a server on this machine: 127.0.0.0/8, ::1, `localhost`, or a Unix
 * socket directory (an absolute path in the host part or the `host` query parameter). The tests
 * create and drop databases, so they must never reach a shared server by mistake.
 */
export function assertLoopbackUrl(url: string): void {
  const host = urlHost(url);
  const isLoopback =
    host === '' ||
    host.startsWith('/') ||
    host === 'localhost' ||
    host === '[::1]' ||
    host === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!isLoopback) {
    throw new Error(
      `${TEST_POSTGRES_URL_VARIABLE} names host "${host}", but the tests create and drop databases and may only use a server on loopback (127.0.0.1, ::1, localhost or a Unix socket); point it at a local server.`,
    );
  }
}

/**
 * Returns the host that a PostgreSQL URL connects to: the `host` query parameter when present (a
 * Unix socket directory, for example), else the decoded host part, or '' when there is none (the
 * client then uses localhost).
 */
export function urlHost(url: string): string {
  const parsed = new URL(url);
  const queryHost = parsed.searchParams.get('host');
  if (queryHost !== null && queryHost !== '') return queryHost;
  return decodeURIComponent(parsed.hostname);
}

/** Returns the URL with its password replaced by `***`, for messages. */
export function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

function databaseUrl(adminUrl: string, database: string): string {
  const parsed = new URL(adminUrl);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function testPostgresUrlFromEnv(): string | undefined {
  const value = process.env[TEST_POSTGRES_URL_VARIABLE]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

async function runAdminStatement(adminUrl: string, statement: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Connects once to fail early, naming the variable, when the server is down or too old. */
async function checkServer(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  let versionNumber: number;
  try {
    await client.connect();
    const result = await client.query<{ version: string }>(
      "SELECT current_setting('server_version_num') AS version",
    );
    versionNumber = Number(result.rows[0]?.version);
  } catch (error) {
    throw new Error(
      `${TEST_POSTGRES_URL_VARIABLE} is ${redactPassword(url)}, but connecting to it failed: ${(error as Error).message}. Start that server, correct the variable, or unset it to let the tests start a temporary cluster.`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  if (!(versionNumber >= MIN_MAJOR_VERSION * 10_000)) {
    throw new Error(
      `${TEST_POSTGRES_URL_VARIABLE} names a server with server_version_num ${versionNumber}; the tests need PostgreSQL ${MIN_MAJOR_VERSION} or newer.`,
    );
  }
}

/** Reads the major version from `pg_ctl --version`, e.g. 15 from "pg_ctl (PostgreSQL) 15.18". */
function installedMajorVersion(binDir: string): number | undefined {
  try {
    const output = execFileSync(path.join(binDir, 'pg_ctl'), ['--version'], { encoding: 'utf8' });
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(output);
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function systemUserExists(user: string): boolean {
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Returns the file and arguments that run a server program, through `runuser -u postgres` under root. */
function serverCommand(binDir: string, program: string, args: readonly string[]): [string, string[]] {
  const file = path.join(binDir, program);
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, [...args]];
}

/**
 * Starts a throw-away cluster and returns the URL of its `nqo1_test` role, which owns a database of
 * the same name and may create more. The cluster is stopped and deleted when the process exits.
 */
async function startTemporaryCluster(binDir: string): Promise<string> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'nqo1-postgres-'));
  const dataDir = path.join(workDir, 'data');
  const logFile = path.join(workDir, 'server.log');
  // Hexadecimal passwords need no quoting in SQL or URLs.
  const superuserPassword = randomBytes(16).toString('hex');
  const testPassword = randomBytes(16).toString('hex');

  stopClusterAtExit(() => {
    stopClusterSync(binDir, dataDir, workDir);
  });

  const passwordFile = path.join(workDir, 'superuser-password');
  writeFileSync(passwordFile, superuserPassword, { mode: 0o600 });
  if (isRoot()) execFileSync('chown', ['-R', 'postgres:', workDir]);

  const port = await findFreeLoopbackPort();
  try {
    await runServerProgram(binDir, workDir, 'initdb', [
      `--pgdata=${dataDir}`,
      '--username=postgres',
      '--auth=scram-sha-256',
      `--pwfile=${passwordFile}`,
      '--encoding=UTF8',
      '--no-locale',
      '--no-sync',
    ]);
    rmSync(passwordFile);
    appendFileSync(path.join(dataDir, 'postgresql.conf'), clusterSettings(port, workDir));
    await runServerProgram(binDir, workDir, 'pg_ctl', [
      'start',
      `--pgdata=${dataDir}`,
      `--log=${logFile}`,
      '--wait',
      `--timeout=${STARTUP_TIMEOUT_SECONDS}`,
      '--silent',
    ]);
  } catch (error) {
    throw new Error(
      `The temporary PostgreSQL cluster (${binDir}, 127.0.0.1:${port}) did not start: ${(error as Error).message}\n${logTail(logFile)}`,
      { cause: error },
    );
  }

  const superuser = new Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: superuserPassword,
    database: 'postgres',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  await superuser.connect();
  try {
    // CREATE ROLE takes no bind parameters; the password is hexadecimal, so the literal is safe.
    await superuser.query(`CREATE ROLE ${TEST_ROLE} LOGIN CREATEDB PASSWORD '${testPassword}'`);
    await superuser.query(`CREATE DATABASE ${TEST_ROLE} OWNER ${TEST_ROLE}`);
  } finally {
    await superuser.end();
  }
  return `postgres://${TEST_ROLE}:${testPassword}@127.0.0.1:${port}/${TEST_ROLE}`;
}

/**
 * Settings appended to postgresql.conf. Durability is off because the data is thrown away, which
 * makes commits cheaper on a shared test machine.
 */
function clusterSettings(port: number, socketDir: string): string {
  return [
    '',
    '# Test cluster settings (test/support/postgres.ts)',
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${socketDir}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    '',
  ].join('\n');
}

async function runServerProgram(
  binDir: string,
  workDir: string,
  program: string,
  args: readonly string[],
): Promise<void> {
  const [file, fileArgs] = serverCommand(binDir, program, args);
  try {
    // The postgres user may not enter the caller's directory, so the commands run in the work directory.
    await execFileAsync(file, fileArgs, { cwd: workDir });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${program} failed: ${stderr.trim() || (error as Error).message}`, { cause: error });
  }
}

/**
 * Runs `stop` once when the process exits. Vitest ends its fork workers with SIGTERM, and the default
 * action of that signal skips the `exit` event. So `stop` also runs on SIGTERM and SIGINT, and then
 * the handler raises the signal again, which ends the process as it would have without the handler.
 */
function stopClusterAtExit(stop: () => void): void {
  let stopped = false;
  const stopOnce = (): void => {
    if (stopped) return;
    stopped = true;
    stop();
  };
  process.once('exit', stopOnce);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stopOnce();
      process.kill(process.pid, signal);
    });
  }
}

/** Stops the cluster without waiting for clients, then deletes its directory; runs in an exit handler. */
function stopClusterSync(binDir: string, dataDir: string, workDir: string): void {
  if (existsSync(path.join(dataDir, 'postmaster.pid'))) {
    const [file, args] = serverCommand(binDir, 'pg_ctl', [
      'stop',
      `--pgdata=${dataDir}`,
      '--mode=immediate',
      '--silent',
    ]);
    try {
      execFileSync(file, args, { cwd: workDir, stdio: 'ignore' });
    } catch {
      // Already stopped, or stopping failed. The directory is deleted either way, and a server
      // whose data directory is gone stops by itself (PostgreSQL 15.18 did within 15 s in a trial).
    }
  }
  rmSync(workDir, { recursive: true, force: true });
}

function logTail(logFile: string): string {
  if (!existsSync(logFile)) return '(no server log)';
  return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}
