import request from 'supertest';
import { describe, expect, it } from 'vitest';

import { createHarness } from '../support/cds-fixtures.js';

describe('SMART app files', () => {
  it('serves the launch page with its scripts', async () => {
    const harness = await createHarness();
    try {
      const response = await request(harness.app).get('/smart-app/launch.html');
      expect(response.status).toBe(200);
      expect(response.text).toContain('<script src="vendor/fhir-client.js"></script>');
      expect(response.text).toContain('<script type="module" src="launch.js"></script>');
    } finally {
      await harness.close();
    }
  });

  it('serves the launch page at the folder path', async () => {
    const harness = await createHarness();
    try {
      const response = await request(harness.app).get('/smart-app/');
      expect(response.status).toBe(200);
      expect(response.text).toContain('launch.js');
    } finally {
      await harness.close();
    }
  });

  it('serves the client id from smartApp.clientId', async () => {
    const harness = await createHarness();
    try {
      const response = await request(harness.app).get('/smart-app/config.json');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        clientId: 'nqo1-cds',
        fhirBaseUrls: ['http://127.0.0.1:8103/fhir/R4'],
      });
    } finally {
      await harness.close();
    }
  });

  it('serves the viewer link template when configured', async () => {
    const template = 'https://viewer.example/study/{{studyInstanceUid}}';
    const harness = await createHarness({ configOverrides: { viewerUrlTemplate: template } });
    try {
      const response = await request(harness.app).get('/smart-app/config.json');
      expect(response.body).toEqual({
        clientId: 'nqo1-cds',
        fhirBaseUrls: ['http://127.0.0.1:8103/fhir/R4'],
        viewerUrlTemplate: template,
      });
    } finally {
      await harness.close();
    }
  });

  it('serves the standalone FHIR base when configured', async () => {
    const harness = await createHarness({
      configOverrides: { smartApp: { standaloneFhirBaseUrl: 'http://127.0.0.1:8103/fhir/R4' } },
    });
    try {
      const response = await request(harness.app).get('/smart-app/config.json');
      expect(response.body).toEqual({
        clientId: 'nqo1-cds',
        fhirBaseUrls: ['http://127.0.0.1:8103/fhir/R4'],
        standaloneFhirBaseUrl: 'http://127.0.0.1:8103/fhir/R4',
      });
    } finally {
      await harness.close();
    }
  });

  it('serves the fhirclient browser build', async () => {
    const harness = await createHarness();
    try {
      const response = await request(harness.app).get('/smart-app/vendor/fhir-client.js');
      expect(response.status).toBe(200);
      expect(response.type).toBe('text/javascript');
      expect(response.text).toContain('oauth2');
    } finally {
      await harness.close();
    }
  });

  it('does not serve the TypeScript sources', async () => {
    const harness = await createHarness();
    try {
      const response = await request(harness.app).get('/smart-app/src/main.ts');
      expect(response.status).toBe(404);
    } finally {
      await harness.close();
    }
  });
});
