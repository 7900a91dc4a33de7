import request from 'supertest';
import { afterEach, describe, expect, test, vi } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { createApp } from '../../src/server/app.js';
import type { OperationOutcome } from '../../src/server/outcome.js';
import { createHarness, type Harness, hookRequest, testConfig } from '../support/cds-fixtures.js';

const SANDBOX_ORIGIN = 'http://127.0.0.1:5555';

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('createApp', () => {
  test('reports health with analysis counts', async () => {
    harness = await createHarness();
    const response = await request(harness.app).get('/healthz');

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: 'ok',
      model: { id: 'br-ro', version: '1.0.0' },
      analyses: { pending: 0, running: 0, done: 0, failed: 0 },
      writeBacks: { owed: 0, stopped: 0 },
      feedback: [],
      replayCache: { entries: 0, capacity: 100_000, full: false },
    });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  test('health stays 200 without the store', async () => {
    harness = await createHarness();
    // PostgreSQL down: the liveness check must not restart the process, so only the counts go.
    vi.spyOn(harness.store, 'countByStatus').mockRejectedValue(
      new Nqo1Error('ERR_STORE_UNAVAILABLE', 'The PostgreSQL result store is unavailable'),
    );
    const response = await request(harness.app).get('/healthz');

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: 'ok',
      model: { id: 'br-ro', version: '1.0.0' },
      store: 'unavailable',
      replayCache: { entries: 0, capacity: 100_000, full: false },
    });
    expect(harness.logs.withMessage('health check cannot read the store counts')).toHaveLength(1);
  });

  test('worker routes are operations only', async () => {
    harness = await createHarness();
    const worker = createApp({
      config: testConfig(harness.issuer),
      logger: harness.logs.logger,
      store: harness.store,
      queue: harness.queue,
      modelCard: harness.modelCard,
      routes: 'operations',
    });

    expect((await request(worker).get('/healthz')).status).toBe(200);
    expect((await request(worker).get('/metrics')).status).toBe(200);
    const discovery = await request(worker).get('/cds-services');
    expect(discovery.status).toBe(404);
    expect(JSON.stringify(discovery.body)).toContain('this is a worker process');
    expect((await request(worker).post('/cds-services/nqo1-risk').send({})).status).toBe(404);
  });

  test('returns a 404 OperationOutcome for unknown routes', async () => {
    harness = await createHarness();
    const response = await request(harness.app).post('/cds-services/unknown-service').send({});

    expect(response.status).toBe(404);
    expect(JSON.parse(response.text)).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ code: 'not-found', diagnostics: expect.stringContaining('GET /cds-services') as unknown }],
    });
  });

  test('answers a CORS preflight from an allowed origin', async () => {
    harness = await createHarness({
      configOverrides: { server: { publicUrl: 'http://127.0.0.1:8080', corsOrigins: [SANDBOX_ORIGIN] } },
    });
    const preflight = await request(harness.app)
      .options('/cds-services/nqo1-risk')
      .set('Origin', SANDBOX_ORIGIN)
      .set('Access-Control-Request-Method', 'POST');

    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(SANDBOX_ORIGIN);
    expect(preflight.headers['access-control-allow-headers']).toContain('Authorization');
  });

  test('sends no CORS headers to other origins', async () => {
    harness = await createHarness({
      configOverrides: { server: { publicUrl: 'http://127.0.0.1:8080', corsOrigins: [SANDBOX_ORIGIN] } },
    });
    const response = await request(harness.app).get('/cds-services').set('Origin', 'http://127.0.0.1:6666');

    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('sends Chinese details.text for zh-Hans-CN', async () => {
    harness = await createHarness();
    const response = await request(harness.app)
      .post('/api/analyses')
      .set('Authorization', 'Bearer any-token')
      .set('Content-Type', 'application/json')
      .set('Accept-Language', 'zh-Hans-CN')
      .send('{"studyInstanceUid":');
    const issue = (JSON.parse(response.text) as OperationOutcome).issue[0];

    expect(response.status).toBe(400);
    expect(issue.details.text).toBe('请求无效。');
    expect(issue.diagnostics).toBe(
      'The request body is not valid JSON; send a JSON body as application/json.',
    );
  });

  test('sends Chinese details.text for site locale zh-CN', async () => {
    harness = await createHarness({ configOverrides: { locale: 'zh-CN' } });
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(hookRequest({ prefetch: {} }));
    const issue = (JSON.parse(response.text) as OperationOutcome).issue[0];

    expect(response.status).toBe(412);
    expect(issue.details.coding[0].code).toBe('ERR_PREFETCH_MISSING');
    expect(issue.details.text).toBe('Hook 请求缺少本服务所需的预取数据。');
  });

  test('sends English details.text by default', async () => {
    harness = await createHarness();
    const response = await request(harness.app)
      .post('/cds-services/nqo1-risk')
      .set('Authorization', await harness.authorization())
      .send(hookRequest({ prefetch: {} }));
    const issue = (JSON.parse(response.text) as OperationOutcome).issue[0];

    expect(response.status).toBe(412);
    expect(issue.details.text).toBe('The hook request lacks the prefetch this service needs.');
  });
});
