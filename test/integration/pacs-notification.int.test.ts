import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';

import type { AnalysisJob } from '../../src/jobs/types.js';
import { packagePath } from '../../src/paths.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { testConfig } from '../support/cds-fixtures.js';
import { createTestIssuer } from '../support/cds-jwt.js';
import { captureLogs } from '../support/log-capture.js';
import { orthancSkipReason, startOrthanc, type OrthancHandle } from '../support/orthanc.js';
import { uncalibratedResult } from '../support/score-result.js';
import { CT_3SLICE, CT_3SLICE_FILES } from '../support/shared-data.js';

const skipReason = orthancSkipReason('the PACS notification tests');

const SECRET_ENV = 'NQO1_TEST_PACS_NOTIFY_TOKEN';
const SECRET = 'orthanc-lua-secret-8d2e';

/**
 * Wait for the notification. With StableAge 1 s it arrived about 1.5 s after the upload in local
 * runs, so 20 s is a wide margin.
 */
const NOTIFICATION_WAIT_MS = 20_000;

describe.skipIf(skipReason !== null)('Orthanc OnStableStudy script', () => {
  let orthanc: OrthancHandle | undefined;
  let running: RunningServer | undefined;
  const jobs: AnalysisJob[] = [];
  const logs = captureLogs();

  beforeAll(async () => {
    vi.stubEnv(SECRET_ENV, SECRET);
    const config = testConfig(await createTestIssuer(), {
      server: { port: 0, publicUrl: 'http://127.0.0.1:8080' },
      notifications: { tokenEnv: SECRET_ENV },
    });
    running = await startServer(config, {
      logger: logs.logger,
      analyse: (job) => {
        jobs.push(job);
        return Promise.resolve({ result: uncalibratedResult() });
      },
    });

    orthanc = await startOrthanc({
      extraConfig: {
        LuaScripts: [packagePath('config', 'orthanc', 'on-stable-study.lua')],
        StableAge: 1,
        Nqo1Notifications: { Url: `${running.url}/pacs/studies`, Token: `\${${SECRET_ENV}}` },
      },
      env: { [SECRET_ENV]: SECRET },
    });
  });

  afterAll(async () => {
    await orthanc?.stop();
    await running?.close();
    vi.unstubAllEnvs();
  });

  test('stored CT study is queued once', async () => {
    const pacs = orthanc!;
    for (const file of CT_3SLICE_FILES) {
      const response = await fetch(`${pacs.baseUrl}/instances`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/dicom' },
        body: await readFile(file),
      });
      expect(response.status).toBe(200);
    }

    await vi.waitFor(
      () => {
        if (jobs.length === 0) throw new Error(`no notification yet; Orthanc log:\n${pacs.logTail()}`);
      },
      { timeout: NOTIFICATION_WAIT_MS, interval: 250 },
    );
    await running!.queue.drain();

    expect(jobs).toEqual([
      { studyInstanceUid: CT_3SLICE.studyInstanceUid, modelId: 'br-ro', modelVersion: '1.0.0' },
    ]);
    const received = logs.withMessage('PACS notification received');
    expect(received.map((entry) => entry.outcome)).toEqual(['enqueued']);
    expect(logs.text()).not.toContain(SECRET);
  });
});
