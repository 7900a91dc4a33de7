/**
 * Latency of the CDS hook over loopback HTTP with results ready: a SQLite store preloaded with
 * `PRELOADED_ROWS` finished analyses, `CALLS` signed hook calls sent `CONCURRENCY` at a time after
 * `WARM_UP_CALLS` untimed ones, with every token signed beforehand. A call counts as an error
 * unless it returns the stored result's card.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { ResultStore } from '../src/jobs/result-store.js';
import { startServer } from '../src/server/start.js';
import { createLogger } from '../src/server/logger.js';
import { createTestIssuer } from '../test/support/cds-jwt.js';
import { HOOK_URL, hookRequest, PATIENT_ID, testConfig } from '../test/support/cds-fixtures.js';
import { uncalibratedResult } from '../test/support/score-result.js';

const PRELOADED_ROWS = 5_000;
const CALLS = 1_000;
/** Calls before the measured ones, not timed. */
const WARM_UP_CALLS = 200;
/** Concurrent clients, as the service target states: p95 at most 50 ms with 50 clients. */
const CONCURRENCY = 50;

export interface HookBenchResult {
  readonly calls: number;
  readonly concurrency: number;
  readonly preloadedRows: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  readonly rssMb: number;
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

/** Runs the hook latency benchmark against a server started on a free loopback port. */
export async function benchHookLatency(): Promise<HookBenchResult> {
  const folder = mkdtempSync(path.join(tmpdir(), 'nqo1-bench-'));
  const sqlitePath = path.join(folder, 'results.sqlite');
  const store = new ResultStore(sqlitePath);
  for (let index = 0; index < PRELOADED_ROWS; index++) {
    const job = {
      studyInstanceUid: index === 0 ? '1.2.826.0.1.1' : `2.25.${index}`,
      imagingStudyId: `s${index}`,
      patientId: index === 0 ? PATIENT_ID : `p${index}`,
      modelId: 'br-ro',
      modelVersion: '1.0.0',
    };
    store.insertPending(job);
    store.markDone(job, uncalibratedResult());
  }
  store.close();

  const issuer = await createTestIssuer();
  const config = testConfig(issuer, {
    server: { port: 0, publicUrl: 'http://127.0.0.1:8080' },
    store: { sqlitePath },
  });
  const running = await startServer(config, {
    logger: createLogger({ level: 'warn' }),
    analyse: () => Promise.reject(new Error('the benchmark preloads every result')),
  });

  // Tokens are signed before the timed calls: client and server share this process, so signing
  // during the run would add the client's CPU time to the server's latency.
  const tokens: string[] = [];
  for (let index = 0; index < WARM_UP_CALLS + CALLS; index++) {
    tokens.push(await issuer.sign({ aud: HOOK_URL, now: new Date() }));
  }

  const body = JSON.stringify(hookRequest());
  const call = async (token: string): Promise<{ ms: number; ok: boolean }> => {
    const started = performance.now();
    const response = await fetch(`${running.url}/cds-services/nqo1-risk`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body,
    });
    const card = ((await response.json()) as { cards?: { summary?: string }[] }).cards?.[0];
    // Anything but the stored result's card counts as an error: the benchmark measures result reads.
    return {
      ms: performance.now() - started,
      ok: response.status === 200 && card?.summary?.includes('features measured') === true,
    };
  };

  // Warm-up calls let the server's code be optimised before the measured calls.
  let next = 0;
  const warmUp = async (): Promise<void> => {
    while (next < WARM_UP_CALLS) await call(tokens[next++]!);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, warmUp));

  const durations: number[] = [];
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (next < WARM_UP_CALLS + CALLS) {
      const outcome = await call(tokens[next++]!);
      durations.push(outcome.ms);
      if (!outcome.ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await running.close();
  rmSync(folder, { recursive: true, force: true });

  durations.sort((a, b) => a - b);
  return {
    calls: durations.length,
    concurrency: CONCURRENCY,
    preloadedRows: PRELOADED_ROWS,
    errors,
    p50Ms: percentile(durations, 0.5),
    p95Ms: percentile(durations, 0.95),
    maxMs: durations.at(-1) ?? Number.NaN,
    rssMb: process.memoryUsage().rss / 2 ** 20,
  };
}
