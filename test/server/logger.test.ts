import express from 'express';
import request from 'supertest';
import { describe, expect, test } from 'vitest';

import { requestLogging } from '../../src/server/logger.js';
import { captureLogs } from '../support/log-capture.js';

describe('createLogger', () => {
  test('redacts tokens and patient fields', () => {
    const logs = captureLogs();
    logs.logger.info(
      {
        authorization: 'Bearer eyJsecret',
        token: 'eyJsecret2',
        prefetch: { patient: { name: 'Li Lei' } },
        patient: { id: 'p1' },
        request: { name: 'Han Meimei', birthDate: '1970-01-01', identifier: [{ value: 'MRN-1' }] },
        req: { headers: { authorization: 'Bearer eyJsecret3' } },
        studyInstanceUid: '1.2.3',
      },
      'probe',
    );

    const text = logs.text();
    for (const secret of ['eyJsecret', 'Li Lei', 'Han Meimei', '1970-01-01', 'MRN-1', '"p1"'])
      expect(text).not.toContain(secret);
    expect(logs.entries()[0]).toMatchObject({
      studyInstanceUid: '1.2.3',
      authorization: '[redacted]',
      patient: '[redacted]',
    });
  });
});

describe('requestLogging', () => {
  function appWithRoute() {
    const logs = captureLogs();
    const app = express();
    app.use(requestLogging(logs.logger));
    app.get('/things/:id', (_req, res) => {
      res.status(204).end();
    });
    return { app, logs };
  }

  test('logs the route template, not the URL', async () => {
    const { app, logs } = appWithRoute();
    await request(app).get('/things/patient-778899?name=Zhang');

    const [served] = logs.withMessage('request served');
    expect(served).toMatchObject({ method: 'GET', route: '/things/:id', status: 204 });
    expect(typeof served?.durationMs).toBe('number');
    expect(logs.text()).not.toContain('778899');
    expect(logs.text()).not.toContain('Zhang');
  });

  test('replaces an unsafe X-Request-Id', async () => {
    const { app, logs } = appWithRoute();
    const response = await request(app).get('/things/1').set('X-Request-Id', 'x"} {"forged":true');

    const requestId = response.headers['x-request-id'];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(logs.withMessage('request served')[0]?.requestId).toBe(requestId);
  });
});
