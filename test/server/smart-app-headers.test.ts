/**
 * The security headers of the SMART app's files: the Content-Security-Policy built from
 * `smartApp.frameAncestors`, `smartApp.authorizationServerOrigins` and `fhir.allowedBaseUrls`,
 * and the validation of those origins when the configuration loads.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import request from 'supertest';
import { describe, expect, test } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { loadConfig } from '../../src/server/config.js';
import { createHarness } from '../support/cds-fixtures.js';

const EHR_ORIGIN = 'https://ehr.hospital.test';
const AUTH_ORIGIN = 'https://login.hospital.test';
/** Origin of the test configuration's `fhir.allowedBaseUrls` (`test/support/cds-fixtures.ts`). */
const FHIR_ORIGIN = 'http://127.0.0.1:8103';

/** Returns the directives of a Content-Security-Policy value, by name. */
function directives(policy: string): Map<string, string[]> {
  const parsed = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name !== undefined && name !== '') parsed.set(name, sources);
  }
  return parsed;
}

function loadError(site: unknown): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'nqo1-config-'));
  const file = path.join(folder, 'site.json');
  writeFileSync(file, JSON.stringify(site));
  try {
    loadConfig({ configPath: file, env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(Nqo1Error);
    return (error as Nqo1Error).message;
  }
  throw new Error('expected loadConfig to throw');
}

describe('SMART app headers', () => {
  test('default policy forbids every frame', async () => {
    const harness = await createHarness();
    try {
      const response = await request(harness.app).get('/smart-app/index.html');

      expect(response.status).toBe(200);
      const policy = directives(response.headers['content-security-policy'] as string);
      expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
      expect(policy.get('default-src')).toEqual(["'none'"]);
      expect(policy.get('script-src')).toEqual(["'self'"]);
      expect(policy.get('style-src')).toEqual(["'self'"]);
      expect(policy.get('img-src')).toEqual(["'self'", 'blob:', 'data:']);
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
    } finally {
      await harness.close();
    }
  });

  test('configured origins reach frame-ancestors and connect-src', async () => {
    const harness = await createHarness({
      configOverrides: {
        smartApp: { frameAncestors: [EHR_ORIGIN], authorizationServerOrigins: [AUTH_ORIGIN] },
      },
    });
    try {
      for (const file of ['launch.html', 'index.html', 'app.css', 'config.json']) {
        const response = await request(harness.app).get(`/smart-app/${file}`);
        const policy = directives(response.headers['content-security-policy'] as string);
        expect(policy.get('frame-ancestors'), file).toEqual([EHR_ORIGIN]);
        expect(policy.get('connect-src'), file).toEqual(["'self'", FHIR_ORIGIN, AUTH_ORIGIN]);
        expect(response.headers['x-frame-options'], file).toBeUndefined();
        expect(response.headers['referrer-policy'], file).toBe('no-referrer');
      }
    } finally {
      await harness.close();
    }
  });

  test('API routes keep their own headers', async () => {
    const harness = await createHarness();
    try {
      const response = await request(harness.app).get('/api/model-card');

      expect(response.headers['content-security-policy']).toBeUndefined();
    } finally {
      await harness.close();
    }
  });

  test.each([
    ['a path', 'https://ehr.hospital.test/app'],
    ['a trailing slash', 'https://ehr.hospital.test/'],
    ['a wildcard', 'https://*.hospital.test'],
    ['another scheme', 'ftp://ehr.hospital.test'],
    ['a CSP keyword', "'self'"],
    ['an upper-case host', 'https://EHR.hospital.test'],
  ])('frameAncestors entry with %s is rejected', (_case, origin) => {
    const message = loadError({ smartApp: { frameAncestors: [origin] } });

    expect(message).toContain('smartApp.frameAncestors');
    expect(message).toContain(JSON.stringify(origin));
  });

  test('authorizationServerOrigins entry is validated', () => {
    const message = loadError({ smartApp: { authorizationServerOrigins: ['login.hospital.test'] } });

    expect(message).toContain('smartApp.authorizationServerOrigins');
  });
});
