import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, test } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import type { CdsResponse } from '../../src/server/cds-types.js';
import { validateCdsResponse } from '../support/cds-response.js';
import { createTestIssuer } from '../support/cds-jwt.js';
import { hookRequest, HOOK_URL, testConfig } from '../support/cds-fixtures.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackListener } from '../support/loopback-listener.js';
import { uncalibratedResult } from '../support/score-result.js';

/** Rows put in the store before start, so each lookup searches a table of this many rows. */
const PRELOADED_ROWS = 5_000;
/** Hook calls after the first; latency is measured by `npm run bench`, not asserted here. */
const REPEATED_CALLS = 5;

let running: RunningServer | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('startServer', () => {
  test('serves the hook over HTTP from the stored results', async () => {
    const issuer = await createTestIssuer();
    const sqlitePath = path.join(mkdtempSync(path.join(tmpdir(), 'nqo1-start-')), 'results.sqlite');
    const preload = new SqliteResultStore(sqlitePath);
    for (let index = 0; index < PRELOADED_ROWS; index++) {
      const job: AnalysisJob = {
        studyInstanceUid: `2.25.${index}`,
        imagingStudyId: `s${index}`,
        patientId: `p${index}`,
        modelId: 'br-ro',
        modelVersion: '1.0.0',
      };
      await preload.insertPending(job);
      await preload.markDone(job, uncalibratedResult());
    }
    await preload.close();

    const config = testConfig(issuer, {
      server: { port: 0, publicUrl: 'http://127.0.0.1:8080' },
      store: { sqlitePath },
    });
    const logs = captureLogs();
    running = await startServer(config, {
      logger: logs.logger,
      analyse: async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { result: uncalibratedResult() };
      },
    });

    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({
      status: 'ok',
      model: { id: 'br-ro', version: '1.0.0' },
      analyses: { pending: 0, running: 0, done: PRELOADED_ROWS, failed: 0 },
      // The preloaded results have FHIR ids and no Observation yet.
      writeBacks: { owed: PRELOADED_ROWS, stopped: 0 },
      feedback: [],
      replayCache: { entries: 0, capacity: 100_000, full: false },
    });

    const tokens = await Promise.all(
      Array.from({ length: REPEATED_CALLS + 1 }, () => issuer.sign({ aud: HOOK_URL, now: new Date() })),
    );
    const callHook = async (token: string): Promise<CdsResponse> => {
      const response = await fetch(`${running?.url ?? ''}/cds-services/nqo1-risk`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(hookRequest()),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as unknown;
      expect(validateCdsResponse(body)).toEqual([]);
      return body as CdsResponse;
    };

    const first = await callHook(tokens[0]!);
    expect(first.cards[0]?.summary).toContain('in progress');
    await running.queue.drain();

    for (const token of tokens.slice(1)) {
      const body = await callHook(token);
      expect(body.cards[0]?.summary).toContain('a probability needs site calibration');
    }
  });
});

describe('startServer on a busy port', () => {
  test('rejects with ERR_CONFIG_INVALID naming the port', async () => {
    const occupied = await startLoopbackListener();
    const port = Number(new URL(occupied.origin).port);
    const issuer = await createTestIssuer();
    const config = testConfig(issuer, { server: { host: '127.0.0.1', port } });

    try {
      const failure = await startServer(config, {
        analyse: () => Promise.resolve({ result: uncalibratedResult() }),
        logger: captureLogs().logger,
      }).then(
        () => undefined,
        (error: unknown) => error,
      );

      expect(failure).toBeInstanceOf(Nqo1Error);
      expect((failure as Nqo1Error).code).toBe('ERR_CONFIG_INVALID');
      expect((failure as Nqo1Error).message).toContain(
        `server.host 127.0.0.1, server.port ${port} (EADDRINUSE)`,
      );
      expect((failure as Nqo1Error).message).toContain('set another server.port');
    } finally {
      await occupied.close();
    }
  });
});
