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
