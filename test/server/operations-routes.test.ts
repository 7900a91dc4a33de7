import request from 'supertest';
import { afterEach, describe, expect, test, vi } from 'vitest';

import { createApp } from '../../src/server/app.js';
import { ServiceMetrics } from '../../src/server/metrics/service-metrics.js';
import { ReadinessCheck } from '../../src/server/readiness.js';
import { PATIENT_ID, createHarness, type Harness, hookRequest, testConfig } from '../support/cds-fixtures.js';

let harness: Harness | undefined;

afterEach(async () => {
  vi.unstubAllEnvs();
  await harness?.close();
  harness = undefined;
});

describe('GET /metrics', () => {
  test('exposes hook latency per service and status class', async () => {
    harness = await createHarness();
    await request(harness.app).post('/cds-services/nqo1-risk').send(hookRequest());
    await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(hookRequest());

    const response = await request(harness.app).get('/metrics');
    // The first call has no JWT (401); the second gets a card (200).
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.text).toContain('# TYPE nqo1_hook_duration_seconds histogram\n');
    expect(response.text).toContain('nqo1_hook_duration_seconds_count{service="nqo1-risk",status="4xx"} 1\n');
    expect(response.text).toMatch(/nqo1_hook_duration_seconds_count\{service="nqo1-risk",status="2xx"\} 1\n/);
    expect(response.text).toContain('nqo1_analyses{status="pending"} ');
    expect(response.text).not.toContain(PATIENT_ID);
  });

  test('requires the bearer token that operations.metricsTokenEnv names', async () => {
    vi.stubEnv('NQO1_TEST_METRICS_TOKEN', 'scrape-secret');
    harness = await createHarness({
      configOverrides: { operations: { metricsTokenEnv: 'NQO1_TEST_METRICS_TOKEN' } },
    });

    const missing = await request(harness.app).get('/metrics');
    const wrong = await request(harness.app).get('/metrics').set('Authorization', 'Bearer guess');
    const right = await request(harness.app).get('/metrics').set('Authorization', 'Bearer scrape-secret');

    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(right.status).toBe(200);
    expect(right.text).toContain('# TYPE nqo1_failures_total counter');
    expect(harness.logs.text()).not.toContain('scrape-secret');
  });

  test('stops the start when the named token variable is unset', async () => {
    await expect(
      createHarness({ configOverrides: { operations: { metricsTokenEnv: 'NQO1_TEST_UNSET_TOKEN' } } }),
    ).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: expect.stringContaining('operations.metricsTokenEnv names NQO1_TEST_UNSET_TOKEN') as unknown,
    });
  });
});

describe('GET /readyz', () => {
  test('answers 503 naming every component without checks', async () => {
    harness = await createHarness();
    const response = await request(harness.app).get('/readyz');

    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({
      status: 'not-ready',
      notReady: ['store', 'queue', 'dicomweb', 'fhir'],
    });
  });

  test('answers 200 or 503 from the checks', async () => {
    harness = await createHarness();
    const { store, queue } = harness;
    const readiness = new ReadinessCheck({
      pingStore: () => store.ping(),
      queueRunning: () => queue.isRunning(),
      upstreams: [],
      timeoutMs: 100,
      cacheMs: 0,
    });
    const app = createApp({
      config: testConfig(harness.issuer),
      logger: harness.logs.logger,
      store,
      queue,
      modelCard: harness.modelCard,
      metrics: new ServiceMetrics(),
      readiness,
    });

    const ready = await request(app).get('/readyz');
    await queue.stop();
    const stopped = await request(app).get('/readyz');

    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', notReady: [] });
    expect(stopped.status).toBe(503);
    expect(stopped.body).toMatchObject({
      status: 'not-ready',
      notReady: ['queue'],
      components: { queue: { ready: false, reason: 'the analysis queue is not running' } },
    });
  });
});
