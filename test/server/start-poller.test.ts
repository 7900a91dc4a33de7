import { afterEach, describe, expect, test, vi } from 'vitest';

import type { AnalysisJob } from '../../src/jobs/types.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { testConfig } from '../support/cds-fixtures.js';
import { createTestIssuer } from '../support/cds-jwt.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';
import { uncalibratedResult } from '../support/score-result.js';

const STUDY_UID = '1.2.826.0.1.3680043.8.498.77';

let running: RunningServer | undefined;
let listener: LoopbackListener | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
  await listener?.close();
  listener = undefined;
});

describe('startServer with the QIDO-RS poller', () => {
  test('analyses a study the PACS search returns', async () => {
    listener = await startLoopbackListener((request, response) => {
      const isStudySearch = request.url?.startsWith('/dicom-web/studies?') === true;
      response.writeHead(isStudySearch ? 200 : 404, { 'Content-Type': 'application/dicom+json' });
      response.end(isStudySearch ? JSON.stringify([{ '0020000D': { vr: 'UI', Value: [STUDY_UID] } }]) : '');
    });
    const dicomWebUrl = `${listener.origin}/dicom-web`;
    const config = testConfig(await createTestIssuer(), {
      server: { port: 0, publicUrl: 'http://127.0.0.1:8080' },
      dicomweb: { baseUrl: dicomWebUrl, allowedBaseUrls: [dicomWebUrl] },
      notifications: { pollIntervalSeconds: 3600 },
    });
    const jobs: AnalysisJob[] = [];

    running = await startServer(config, {
      logger: captureLogs().logger,
      analyse: (job) => {
        jobs.push(job);
        return Promise.resolve({ result: uncalibratedResult() });
      },
    });

    await vi.waitFor(() => {
      expect(jobs).toEqual([{ studyInstanceUid: STUDY_UID, modelId: 'br-ro', modelVersion: '1.0.0' }]);
    });
    expect(listener.requestCount()).toBe(1);
  });

  test('no search is made with the poller off', async () => {
    listener = await startLoopbackListener();
    const dicomWebUrl = `${listener.origin}/dicom-web`;
    const config = testConfig(await createTestIssuer(), {
      server: { port: 0, publicUrl: 'http://127.0.0.1:8080' },
      dicomweb: { baseUrl: dicomWebUrl, allowedBaseUrls: [dicomWebUrl] },
    });

    running = await startServer(config, {
      logger: captureLogs().logger,
      analyse: () => Promise.reject(new Error('no study should be analysed')),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(config.notifications.pollIntervalSeconds).toBe(0);
    expect(listener.connectionCount()).toBe(0);
  });
});
