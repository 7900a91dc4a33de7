/**
 * CPU time the server spends per hook call, measured apart from the client. On a shared machine
 * the latencies of `bench/hook-latency.ts` follow the load average more than the server code. This
 * figure varies less with the load. Here a child process opens the store
 * (the same `PRELOADED_ROWS` finished analyses), signs all tokens before the measurement, and
 * serves the hook. The parent sends `CALLS` calls `CONCURRENCY` at a time after `WARM_UP_CALLS`
 * unmeasured ones. The child's `process.cpuUsage()` (user + system, all threads, so the libuv pool
 * that verifies signatures is included) over the measured calls, divided by `CALLS`, is the figure.
 *
 * Run: `node --import tsx bench/hook-server-cpu.ts [ES384|RS384]`; set `CPU_PROFILE_DIR` to write
 * a `--cpu-prof` profile of the server.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { SqliteResultStore } from '../src/jobs/result-store.js';
import { createLogger } from '../src/server/logger.js';
import { startServer } from '../src/server/start.js';
import { createTestIssuer } from '../test/support/cds-jwt.js';
import { HOOK_URL, hookRequest, PATIENT_ID, testConfig } from '../test/support/cds-fixtures.js';
import { uncalibratedResult } from '../test/support/score-result.js';

const PRELOADED_ROWS = 5_000;
const CALLS = 1_000;
const CONCURRENCY = 50;
const WARM_UP_CALLS = 50;

export interface HookServerCpuResult {
  readonly algorithm: 'ES384' | 'RS384';
  readonly calls: number;
  readonly concurrency: number;
  readonly errors: number;
  /** Server CPU time (user + system) per measured call, in milliseconds. */
  readonly serverCpuMsPerCall: number;
  /** Latencies seen by the client in the parent process, which still depend on the machine's load. */
  readonly p50Ms: number;
  readonly p95Ms: number;
}

/** Messages from the server process, in order: `ready`, then `started`, then `stopped`. */
type ServerMessage =
  | { readonly kind: 'ready'; readonly url: string; readonly tokens: readonly string[] }
  | { readonly kind: 'started' }
  | { readonly kind: 'stopped'; readonly cpuMicroseconds: number };

/** Preloads the store, signs the tokens, serves the hook, and sends its CPU time when told to stop. */
async function serve(algorithm: 'ES384' | 'RS384'): Promise<void> {
  const folder = mkdtempSync(path.join(tmpdir(), 'nqo1-bench-cpu-'));
  const sqlitePath = path.join(folder, 'results.sqlite');
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

  const issuer = await createTestIssuer(undefined, algorithm);
  const tokens = await Promise.all(
    Array.from({ length: WARM_UP_CALLS + CALLS }, () => issuer.sign({ aud: HOOK_URL, now: new Date() })),
  );
  const config = testConfig(issuer, {
    server: { port: 0, publicUrl: 'http://127.0.0.1:8080' },
    store: { sqlitePath },
  });
  const running = await startServer(config, {
    logger: createLogger({ level: 'warn' }),
    analyse: () => Promise.reject(new Error('the benchmark preloads every result')),
  });

  const send = (message: ServerMessage): void => {
    process.send?.(message);
  };
  let startedAt: NodeJS.CpuUsage | undefined;
  process.on('message', (command: string) => {
    if (command === 'start') {
      startedAt = process.cpuUsage();
      send({ kind: 'started' });
      return;
    }

    const used = process.cpuUsage(startedAt);
    void running.close().then(() => {
      rmSync(folder, { recursive: true, force: true });
      send({ kind: 'stopped', cpuMicroseconds: used.user + used.system });
      process.disconnect();
    });
  });
  send({ kind: 'ready', url: running.url, tokens });
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

/** Starts the server process, sends the calls and returns the server's CPU time per call. */
export async function benchHookServerCpu(
  algorithm: 'ES384' | 'RS384' = 'ES384',
): Promise<HookServerCpuResult> {
  const cpuProfileDir = process.env.CPU_PROFILE_DIR;
  const child = fork(fileURLToPath(import.meta.url), ['--serve', algorithm], {
    execArgv: [
      ...process.execArgv,
      ...(cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`]),
    ],
  });
  const nextMessage = (): Promise<ServerMessage> =>
    new Promise((resolve) => {
      child.once('message', (message) => {
        resolve(message as ServerMessage);
      });
    });

  const ready = await nextMessage();
  if (ready.kind !== 'ready') throw new Error(`Expected the server's ready message, got ${ready.kind}`);
  const body = JSON.stringify(hookRequest());
  const call = async (token: string): Promise<boolean> => {
    const response = await fetch(`${ready.url}/cds-services/nqo1-risk`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body,
    });
    const card = ((await response.json()) as { cards?: { summary?: string }[] }).cards?.[0];
    return response.status === 200 && card?.summary?.includes('features measured') === true;
  };

  for (const token of ready.tokens.slice(CALLS)) await call(token);
  child.send('start');
  await nextMessage();

  const durations: number[] = [];
  let errors = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < CALLS) {
      const token = ready.tokens[next++] ?? '';
      const started = performance.now();
      const ok = await call(token);
      durations.push(performance.now() - started);
      if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  child.send('stop');
  const stopped = await nextMessage();
  if (stopped.kind !== 'stopped')
    throw new Error(`Expected the server's stopped message, got ${stopped.kind}`);

  durations.sort((a, b) => a - b);
  return {
    algorithm,
    calls: CALLS,
    concurrency: CONCURRENCY,
    errors,
    serverCpuMsPerCall: stopped.cpuMicroseconds / 1000 / CALLS,
    p50Ms: percentile(durations, 0.5),
    p95Ms: percentile(durations, 0.95),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const algorithm = process.argv.at(-1) === 'RS384' ? 'RS384' : 'ES384';
  if (process.argv.includes('--serve')) {
    await serve(algorithm);
  } else {
    console.log(JSON.stringify(await benchHookServerCpu(algorithm)));
  }
}
