import request from 'supertest';
import { describe, expect, it } from 'vitest';

import { createHarness } from '../support/cds-fixtures.js';

describe('SMART app placeholder', () => {
  it('serves the launch page in both languages', async () => {
    const harness = await createHarness();
    try {
      const response = await request(harness.app).get('/smart-app/launch.html');
      expect(response.status).toBe(200);
      expect(response.text).toContain('not available in this release');
      expect(response.text).toContain('本版本尚未提供');
    } finally {
      await harness.close();
    }
  });
});

describe('feedback endpoint', () => {
  it('answers 501 after the JWT check', async () => {
    const harness = await createHarness();
    try {
      const unsigned = await request(harness.app)
        .post('/cds-services/nqo1-risk/feedback')
        .send({ feedback: [] });
      expect(unsigned.status).toBe(401);

      const token = await harness.issuer.sign({
        aud: 'http://127.0.0.1:8080/cds-services/nqo1-risk/feedback',
        now: new Date(),
      });
      const signed = await request(harness.app)
        .post('/cds-services/nqo1-risk/feedback')
        .set('Authorization', `Bearer ${token}`)
        .send({ feedback: [] });
      expect(signed.status).toBe(501);
      expect(signed.body).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [{ code: 'not-supported' }],
      });
    } finally {
      await harness.close();
    }
  });
});
