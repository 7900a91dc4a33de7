import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, test } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { loadConfig } from '../../src/server/config.js';

function writeSiteFile(content: unknown): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'nqo1-config-'));
  const file = path.join(folder, 'site.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

/** Loads with `site` as the site file and no environment, returning the thrown message. */
function loadError(site: unknown, env: Record<string, string> = {}): string {
  try {
    loadConfig({ configPath: writeSiteFile(site), env });
  } catch (error) {
    expect(error).toBeInstanceOf(Nqo1Error);
    expect((error as Nqo1Error).code).toBe('ERR_CONFIG_INVALID');
    return (error as Nqo1Error).message;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  test('loads the shipped defaults', () => {
    const config = loadConfig({ env: {} });

    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      publicUrl: 'http://127.0.0.1:8080',
      corsOrigins: [],
      role: 'all',
    });
    expect(config.auth).toEqual({ issuers: [], maxTokenAgeSeconds: 300, clockToleranceSeconds: 5 });
    expect(config.store.sqlitePath).toBe('.nqo1/results.sqlite');
    expect(config.model.cardPath).toBe('config/models/br-ro.json');
    expect(config.locale).toBe('en');
  });

  test('derives publicUrl from host and port', () => {
    const fromSite = loadConfig({
      configPath: writeSiteFile({ server: { host: '10.0.0.5', port: 9090 } }),
      env: {},
    });
    const fromEnv = loadConfig({ env: { NQO1_PORT: '9091' } });
    const ipv6 = loadConfig({ configPath: writeSiteFile({ server: { host: '::1' } }), env: {} });
    const explicit = loadConfig({
      env: { NQO1_PORT: '9092', NQO1_PUBLIC_URL: 'https://cds.hospital.test/nqo1' },
    });

    expect(fromSite.server.publicUrl).toBe('http://10.0.0.5:9090');
    expect(fromEnv.server.publicUrl).toBe('http://127.0.0.1:9091');
    expect(ipv6.server.publicUrl).toBe('http://[::1]:8080');
    expect(explicit.server.publicUrl).toBe('https://cds.hospital.test/nqo1');
  });

  test('derives smartAppUrl from publicUrl', () => {
    const derived = loadConfig({ env: { NQO1_PORT: '9093' } });
    const explicit = loadConfig({
      configPath: writeSiteFile({ smartAppUrl: 'https://apps.hospital.test/nqo1/launch.html' }),
      env: {},
    });

    expect(derived.smartAppUrl).toBe('http://127.0.0.1:9093/smart-app/launch.html');
    expect(explicit.smartAppUrl).toBe('https://apps.hospital.test/nqo1/launch.html');
  });

  test('write-back retry defaults to 5 minutes and refuses less than a second', () => {
    expect(loadConfig({ env: {} }).jobs.retryWriteBackAfterMs).toBe(300_000);
    expect(loadError({ jobs: { retryWriteBackAfterMs: 10 } })).toContain('jobs.retryWriteBackAfterMs');
  });

  test('CT retrieval defaults to ROI-first and names an unknown mode', () => {
    expect(loadConfig({ env: {} }).dicomweb.ctRetrieval).toBe('roi-first');
    expect(loadError({ dicomweb: { ctRetrieval: 'roi' } })).toContain('dicomweb.ctRetrieval');
  });

  test('series patterns default to English and Chinese arterial words', () => {
    const config = loadConfig({ env: {} });

    expect(config.series.arterialPhasePatterns).toEqual(['\\b(arterial|art)\\b', '动脉']);
  });

  test('rejects a series pattern that is not a regular expression', () => {
    expect(loadError({ series: { arterialPhasePatterns: ['art(('] } })).toContain(
      'series.arterialPhasePatterns[0]: "art((" is not a regular expression: Invalid regular expression: /art((/iu: Unterminated group',
    );
    expect(loadError({ series: { arterialPhasePatterns: [''] } })).toContain(
      'series.arterialPhasePatterns[0]: expected a non-empty regular expression',
    );
  });

  test('series rules default to the documented values', () => {
    const { series } = loadConfig({ env: {} });

    expect(series.requireContrast).toBe(true);
    expect(series.nonContrastPatterns).toContain('平扫');
    expect(series.sliceThicknessMm).toEqual({ min: 0.5, max: 5 });
    expect(series.convolutionKernel).toEqual({
      allowPatterns: [],
      denyPatterns: ['bone', 'lung', 'edge', 'sharp', '^[BI][a-z]?[6-9][0-9]'],
    });
    expect(series.arterialDelaySeconds).toEqual({ min: 15, max: 45 });
  });

  test('a partial series range keeps the other default', () => {
    const config = loadConfig({
      configPath: writeSiteFile({ series: { sliceThicknessMm: { max: 3 } } }),
      env: {},
    });

    expect(config.series.sliceThicknessMm).toEqual({ min: 0.5, max: 3 });
  });

  test('rejects a slice thickness range with min above max', () => {
    expect(loadError({ series: { sliceThicknessMm: { min: 6, max: 5 } } })).toContain(
      'series.sliceThicknessMm: expected min ≤ max',
    );
  });

  test('rejects a negative arterial delay', () => {
    expect(loadError({ series: { arterialDelaySeconds: { min: -5 } } })).toContain(
      'series.arterialDelaySeconds.min',
    );
  });

  test('rejects a kernel pattern that is not a regular expression', () => {
    expect(loadError({ series: { convolutionKernel: { denyPatterns: ['bone', '[B7'] } } })).toContain(
      'series.convolutionKernel.denyPatterns[1]: "[B7" is not a regular expression',
    );
  });

  test('rejects an unknown series key', () => {
    expect(loadError({ series: { sliceThickness: { min: 1 } } })).toContain('sliceThickness');
  });

  test('rejects a non-boolean requireContrast', () => {
    expect(loadError({ series: { requireContrast: 'yes' } })).toContain('series.requireContrast');
  });

  test('rejects a token age above one hour', () => {
    expect(loadError({ auth: { maxTokenAgeSeconds: 1e12 } })).toContain('auth.maxTokenAgeSeconds');
  });

  test('rejects a viewer template that is not http(s)', () => {
    expect(loadError({ viewerUrlTemplate: 'javascript:alert(1)//{{studyInstanceUid}}' })).toContain(
      'viewerUrlTemplate: expected an http(s) URL containing {{studyInstanceUid}}',
    );
  });

  test('merges a site file over the defaults', () => {
    const site = writeSiteFile({
      server: { port: 9090, publicUrl: 'https://cds.hospital.test/nqo1/' },
      auth: {
        issuers: [{ iss: 'https://ehr.hospital.test', jwksUrl: 'https://ehr.hospital.test/jwks.json' }],
      },
      locale: 'zh-CN',
    });
    const config = loadConfig({ configPath: site, env: {} });

    expect(config.server.port).toBe(9090);
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.server.publicUrl).toBe('https://cds.hospital.test/nqo1');
    expect(config.auth.issuers[0]?.algorithms).toEqual(['RS384', 'ES384', 'RS256', 'ES256']);
    expect(config.locale).toBe('zh-CN');
    expect(config.dicomweb.baseUrl).toBe('http://127.0.0.1:8042/dicom-web');
  });

  test('reads the site file from NQO1_CONFIG', () => {
    const site = writeSiteFile({ server: { port: 7000 } });
    expect(loadConfig({ env: { NQO1_CONFIG: site } }).server.port).toBe(7000);
  });

  test('applies environment overrides last', () => {
    const site = writeSiteFile({ server: { port: 9090 } });
    const config = loadConfig({
      configPath: site,
      env: {
        NQO1_PORT: '8181',
        NQO1_PUBLIC_URL: 'https://cds.test',
        NQO1_LOCALE: 'zh-CN',
        NQO1_SQLITE_PATH: '/var/lib/nqo1/r.sqlite',
      },
    });

    expect(config.server.port).toBe(8181);
    expect(config.server.publicUrl).toBe('https://cds.test');
    expect(config.locale).toBe('zh-CN');
    expect(config.store.sqlitePath).toBe('/var/lib/nqo1/r.sqlite');
  });

  test('names a misspelled key', () => {
    expect(loadError({ dicomweb: { baseURL: 'http://127.0.0.1:8042/dicom-web' } })).toContain(
      'dicomweb.baseURL: unknown key; check its spelling or remove it',
    );
  });

  test('names an invalid URL and its value', () => {
    expect(loadError({ dicomweb: { baseUrl: 'x' } })).toContain(
      'dicomweb.baseUrl: expected an http(s) URL, got "x"',
    );
  });

  test('names an invalid port from the environment', () => {
    const message = loadError({}, { NQO1_PORT: 'eighty' });
    expect(message).toContain('server.port: expected a port number, got "eighty"');
    expect(message).toContain('$NQO1_PORT');
  });

  test.each([['HS256'], ['none']])('rejects the %s algorithm', (alg) => {
    const message = loadError({
      auth: { issuers: [{ iss: 'https://ehr.test', jwksUrl: 'https://ehr.test/jwks', algorithms: [alg] }] },
    });
    expect(message).toContain(`auth.issuers[0].algorithms[0]: expected an asymmetric JWS algorithm`);
    expect(message).toContain(`got "${alg}"`);
  });

  test('requires exactly one key source per issuer', () => {
    expect(loadError({ auth: { issuers: [{ iss: 'https://ehr.test' }] } })).toContain(
      'auth.issuers[0]: expected exactly one of jwksUrl or jwks',
    );
  });

  test('rejects a plain-http jwksUrl off loopback', () => {
    expect(
      loadError({ auth: { issuers: [{ iss: 'https://ehr.test', jwksUrl: 'http://ehr.test/jwks' }] } }),
    ).toContain(
      'auth.issuers[0].jwksUrl: expected an https URL (http only on loopback), got "http://ehr.test/jwks"',
    );
  });

  test('rejects a base URL outside its allowlist', () => {
    expect(loadError({ fhir: { baseUrl: 'http://127.0.0.1:9000/fhir' } })).toContain(
      'fhir.baseUrl: "http://127.0.0.1:9000/fhir" is not under any of fhir.allowedBaseUrls',
    );
  });

  test('accepts a standalone FHIR base under the allowlist', () => {
    const config = loadConfig({
      configPath: writeSiteFile({ smartApp: { standaloneFhirBaseUrl: 'http://127.0.0.1:8103/fhir/R4/' } }),
      env: {},
    });

    expect(config.smartApp.standaloneFhirBaseUrl).toBe('http://127.0.0.1:8103/fhir/R4');
    expect(loadConfig({ env: {} }).smartApp.standaloneFhirBaseUrl).toBeUndefined();
  });

  test('rejects a standalone FHIR base off the allowlist', () => {
    expect(loadError({ smartApp: { standaloneFhirBaseUrl: 'https://other-ehr.test/fhir' } })).toContain(
      'smartApp.standaloneFhirBaseUrl: "https://other-ehr.test/fhir" is not under any of fhir.allowedBaseUrls',
    );
  });

  test('rejects a secret-looking bearerTokenEnv value', () => {
    expect(loadError({ fhir: { bearerTokenEnv: 'eyJhbGciOi.secret' } })).toContain(
      'fhir.bearerTokenEnv: expected an environment variable name',
    );
  });

  test('rejects a viewer template without the UID', () => {
    expect(loadError({ viewerUrlTemplate: 'http://127.0.0.1:3000/viewer' })).toContain(
      'viewerUrlTemplate: expected an http(s) URL containing {{studyInstanceUid}}, got "http://127.0.0.1:3000/viewer"',
    );
  });

  test('names an unreadable site file', () => {
    expect(() => loadConfig({ configPath: '/nonexistent/site.json', env: {} })).toThrow(
      /Cannot read configuration file \/nonexistent\/site.json/,
    );
  });
});
