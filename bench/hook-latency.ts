/**
 * Latency of the CDS hook over loopback HTTP with results ready: a SQLite store preloaded with
 * `PRELOADED_ROWS` finished analyses, served by this process, and a mock EHR in a child process
 * (`mock-ehr-child.ts`) that sends `CALLS` signed hook calls `CONCURRENCY` at a time after
 * `WARM_UP_CALLS` untimed ones. The EHR signs every token before its first call, and it has its
 * own event loop, so neither its signing nor its HTTP client runs on the server's thread. Both still
 * share the machine's cores. A call counts as an error unless it returns the stored result's card.
 *
 * Run alone: `node --import tsx bench/hook-latency.ts [ES384|RS384]`.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { SqliteResultStore } from '../src/jobs/result-store.js';
import { createLogger } from '../src/server/logger.js';
import { startServer, type RunningServer } from '../src/server/start.js';
import { PATIENT_ID, testConfig } from '../test/support/cds-fixtures.js';
import { uncalibratedResult } from '../test/support/score-result.js';
import type { BenchCommand, MockEhrMessage, TokenAlgorithm } from './mock-ehr-child.js';

const MOCK_EHR = fileURLToPath(new URL('./mock-ehr-child.ts', import.meta.url));
export const PRELOADED_ROWS = 5_000;
const CALLS = 1_000;
/** Calls before the measured ones, not timed. */
const WARM_UP_CALLS = 200;
/** Concurrent clients, as the service target states: p95 at most 50 ms with 50 clients. */
const CONCURRENCY = 50;

export interface HookBenchResult {
  readonly algorithm: TokenAlgorithm;
  readonly calls: number;
  readonly concurrency: number;
  readonly preloadedRows: number;
  /** One-minute load average of the machine when the measured calls started. */
  readonly loadAverage: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  /** RSS of the server's process at the end, which includes whatever that process ran before. */
  readonly rssMb: number;
  /** Server CPU time (user + system, all threads) per measured call. */
  readonly serverCpuMsPerCall: number;
  /** Part of {@link serverCpuMsPerCall} spent on the server's main thread, or NaN without `/proc`. */
  readonly serverMainThreadCpuMsPerCall: number;
  /** Mock EHR CPU time (user + system) per measured call. */
  readonly clientCpuMsPerCall: number;
  /** TCP connections the server accepted over the whole run, warm-up included. */
  readonly connections: number;
}

/** Returns the element at `fraction` of the ascending list `sorted` (rank rounded down). */
export function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

/**
 * CPU time (user + system) of this process's main thread, in milliseconds, read from
 * `/proc/self/task/<pid>/stat` (fields 14 and 15, in clock ticks of 10 ms on Linux x86-64).
 * Returns NaN where that file does not exist.
 */
function mainThreadCpuMs(): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  } catch {
    return Number.NaN;
  }

  // The fields after the command name, which is in brackets and may contain spaces, start at
  // field 3 (state), so utime and stime are at indices 11 and 12.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10;
}

/** Fills a new store at `sqlitePath` with `PRELOADED_ROWS` finished analyses, the first one the test patient's. */
export async function preloadStore(sqlitePath: string): Promise<void> {
  const store = new SqliteResultStore(sqlitePath);
  for (let index = 0; index < PRELOADED_ROWS; index++) {
    const job = {
      studyInstanceUid: index === 0 ? '1.2.826.0.1.1' : `2.25.${index}`,
      imagingStudyId: `s${index}`,
      patientId: index === 0 ? PATIENT_ID : `p${index}`,
      modelId: 'br-ro',
      modelVersion: '1.0.0',
    };
    await store.insertPending(job);
    await store.markDone(job, uncalibratedResult());
  }
  await store.close();
}

/**
 * Runs the hook latency benchmark: serves the hook on a free loopback port in this process and
 * lets the mock EHR child, signing with `algorithm`, call it.
 */
export async function benchHookLatency(algorithm: TokenAlgorithm = 'ES384'): Promise<HookBenchResult> {
  const folder = mkdtempSync(path.join(tmpdir(), 'nqo1-bench-'));
  const sqlitePath = path.join(folder, 'results.sqlite');
  await preloadStore(sqlitePath);

  const ehr = fork(MOCK_EHR, [algorithm], { execArgv: process.execArgv });
  const exited = new Promise<void>((resolve) => {
    ehr.once('exit', () => {
      resolve();
    });
  });
  const nextMessage = (): Promise<MockEhrMessage> =>
    new Promise((resolve, reject) => {
      ehr.once('message', (message) => {
        resolve(message as MockEhrMessage);
      });
      ehr.once('exit', (code) => {
        reject(new Error(`The mock EHR exited with code ${code} before its next message`));
      });
    });
  const command = (message: BenchCommand): void => {
    ehr.send(message);
  };

  // A failed step still stops the child, closes the server and removes the store, so the bench
  // reports the error instead of hanging.
  let running: RunningServer | undefined;
  try {
    const jwks = await nextMessage();
    if (jwks.kind !== 'jwks') throw new Error(`Expected the mock EHR's JWKS, got ${jwks.kind}`);
    const config = testConfig(jwks, {
      server: { port: 0, publicUrl: 'http://127.0.0.1:8080' },
      store: { sqlitePath },
    });
    running = await startServer(config, {
      logger: createLogger({ level: 'warn' }),
      analyse: () => Promise.reject(new Error('the benchmark preloads every result')),
    });
    let connections = 0;
    running.server.on('connection', () => {
      connections++;
    });

    command({
      kind: 'serve',
      hookUrl: `${running.url}/cds-services/nqo1-risk`,
      warmUpCalls: WARM_UP_CALLS,
      calls: CALLS,
      concurrency: CONCURRENCY,
    });
    const warmedUp = await nextMessage();
    if (warmedUp.kind !== 'warmed-up')
      throw new Error(`Expected the end of the warm-up, got ${warmedUp.kind}`);

    const loadAverage = loadavg()[0] ?? Number.NaN;
    const cpuBefore = process.cpuUsage();
    const mainThreadBefore = mainThreadCpuMs();
    command({ kind: 'measure' });
    const measured = await nextMessage();
    if (measured.kind !== 'measured') throw new Error(`Expected the measured calls, got ${measured.kind}`);
    const cpu = process.cpuUsage(cpuBefore);
    const mainThreadMs = mainThreadCpuMs() - mainThreadBefore;
    const rssMb = process.memoryUsage().rss / 2 ** 20;

    await exited;

    const durations = [...measured.durationsMs].sort((a, b) => a - b);
    return {
      algorithm,
      calls: durations.length,
      concurrency: CONCURRENCY,
      preloadedRows: PRELOADED_ROWS,
      loadAverage,
      errors: measured.errors,
      p50Ms: percentile(durations, 0.5),
      p95Ms: percentile(durations, 0.95),
      maxMs: durations.at(-1) ?? Number.NaN,
      rssMb,
      serverCpuMsPerCall: (cpu.user + cpu.system) / 1000 / durations.length,
      serverMainThreadCpuMsPerCall: mainThreadMs / durations.length,
      clientCpuMsPerCall: measured.clientCpuMs / durations.length,
      connections,
    };
  } finally {
    if (ehr.exitCode === null && ehr.signalCode === null) ehr.kill();
    await running?.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const algorithm = process.argv[2] === 'RS384' ? 'RS384' : 'ES384';
  console.log(JSON.stringify(await benchHookLatency(algorithm)));
}
