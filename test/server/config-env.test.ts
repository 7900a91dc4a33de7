import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, test } from 'vitest';

import { packagePath } from '../../src/paths.js';
import { loadConfig } from '../../src/server/config.js';
import {
  ENV_OVERRIDABLE_KEYS,
  LEGACY_ENV_NAMES,
  envNameOf,
  readEnvOverrides,
} from '../../src/server/config-env.js';
import { readSecretEnv } from '../../src/secret-env.js';

const DOC = readFileSync(packagePath('docs', 'configuration.md'), 'utf8');

let folder: string | undefined;

afterEach(() => {
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  folder = undefined;
});

function tempFile(name: string, text: string): string {
  folder ??= mkdtempSync(path.join(tmpdir(), 'nqo1-config-env-'));
  const file = path.join(folder, name);
  writeFileSync(file, text);
  return file;
}

/** Dotted paths of the scalar and list keys of a parsed configuration, as variables can set them. */
function settableKeys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => {
    const keyPath = prefix === '' ? key : `${prefix}.${key}`;
    return keyPath === 'auth.issuers' ? [keyPath] : settableKeys(child, keyPath);
  });
}

describe('envNameOf', () => {
  test.each([
    ['fhir.timeoutMs', 'NQO1_FHIR_TIMEOUT_MS'],
    ['series.sliceThicknessMm.max', 'NQO1_SERIES_SLICE_THICKNESS_MM_MAX'],
    ['operations.metricsTokenEnv', 'NQO1_OPERATIONS_METRICS_TOKEN_ENV'],
    ['locale', 'NQO1_LOCALE'],
    ['smartAppUrl', 'NQO1_SMART_APP_URL'],
  ])('names %s as %s', (keyPath, variable) => {
    expect(envNameOf(keyPath)).toBe(variable);
  });
});

describe('environment overrides', () => {
  test('cover every key of the loaded configuration', () => {
    const config = loadConfig({ configPath: packagePath('config', 'site.example.json'), env: {} });
    const missing = settableKeys(config).filter((keyPath) => !(keyPath in ENV_OVERRIDABLE_KEYS));
    expect(missing).toEqual([]);
  });

  test('are each listed in docs/configuration.md', () => {
    const undocumented = Object.keys(ENV_OVERRIDABLE_KEYS)
      .map(envNameOf)
      .filter((variable) => !DOC.includes(`\`${variable}\``));
    expect(undocumented).toEqual([]);
  });

  test('set numbers, booleans, lists and text by key type', () => {
    const config = loadConfig({
      env: {
        NQO1_FHIR_TIMEOUT_MS: '2500',
        NQO1_IMAGING_RESAMPLE_IRREGULAR: 'true',
        NQO1_DICOMWEB_BASE_URL: 'https://pacs.hospital.test/dicom-web',
        NQO1_DICOMWEB_ALLOWED_BASE_URLS: '["https://pacs.hospital.test/dicom-web"]',
        NQO1_SERIES_SLICE_THICKNESS_MM_MAX: '3.5',
        NQO1_SMART_APP_CLIENT_ID: '12345',
      },
    });

    expect(config.fhir.timeoutMs).toBe(2500);
    expect(config.imaging.resampleIrregular).toBe(true);
    expect(config.dicomweb.baseUrl).toBe('https://pacs.hospital.test/dicom-web');
    expect(config.dicomweb.allowedBaseUrls).toEqual(['https://pacs.hospital.test/dicom-web']);
    expect(config.series.sliceThicknessMm.max).toBe(3.5);
    expect(config.smartApp.clientId).toBe('12345');
  });

  test('win over the site file', () => {
    const site = tempFile('site.json', JSON.stringify({ jobs: { workerThreads: 4 } }));
    expect(loadConfig({ configPath: site, env: { NQO1_JOBS_WORKER_THREADS: '1' } }).jobs.workerThreads).toBe(
      1,
    );
  });

  test('report a wrong value with the key and the variable', () => {
    expect(() => loadConfig({ env: { NQO1_FHIR_TIMEOUT_MS: 'ten seconds' } })).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: expect.stringMatching(/\$NQO1_FHIR_TIMEOUT_MS[\s\S]*fhir\.timeoutMs: /) as unknown,
      }) as unknown,
    );
  });

  test('report a list that is not JSON', () => {
    expect(() => readEnvOverrides({ NQO1_FHIR_ALLOWED_BASE_URLS: 'https://a.test/fhir' })).toThrow(
      /NQO1_FHIR_ALLOWED_BASE_URLS sets fhir\.allowedBaseUrls, but its value is not JSON/,
    );
  });

  test('keep the legacy names working', () => {
    expect(Object.values(LEGACY_ENV_NAMES).every((keyPath) => keyPath in ENV_OVERRIDABLE_KEYS)).toBe(true);
    expect(loadConfig({ env: { NQO1_PORT: '9191' } }).server.port).toBe(9191);
  });

  test('reject a legacy and a new name with different values', () => {
    expect(() => loadConfig({ env: { NQO1_PORT: '9191', NQO1_SERVER_PORT: '9192' } })).toThrow(
      'Both NQO1_PORT and NQO1_SERVER_PORT set server.port, to different values; unset NQO1_PORT.',
    );
    expect(loadConfig({ env: { NQO1_PORT: '9191', NQO1_SERVER_PORT: '9191' } }).server.port).toBe(9191);
  });

  test('ignore an empty variable', () => {
    expect(loadConfig({ env: { NQO1_FHIR_TIMEOUT_MS: '' } }).fhir.timeoutMs).toBe(10_000);
  });

  test('reject a variable of spaces only', () => {
    expect(() => loadConfig({ env: { NQO1_SERVER_PORT: ' ' } })).toThrow(
      'NQO1_SERVER_PORT sets server.port, but its value is only spaces',
    );
  });

  test('reject a misspelt variable, naming the closest one', () => {
    expect(() => loadConfig({ env: { NQO1_FHIR_TIMEOUTMS: '5' } })).toThrow(
      'NQO1_FHIR_TIMEOUTMS (did you mean NQO1_FHIR_TIMEOUT_MS?)',
    );
    expect(() => loadConfig({ env: { NQO1_FIHR_BASE_URL: 'http://127.0.0.1:1/fhir' } })).toThrow(
      'NQO1_FIHR_BASE_URL (did you mean NQO1_FHIR_BASE_URL?)',
    );
  });

  test('accept a secret variable that a setting names, and its _FILE form', () => {
    const env = { NQO1_FHIR_BEARER_TOKEN_ENV: 'NQO1_FHIR_TOKEN', NQO1_FHIR_TOKEN: 'secret-1' };
    expect(loadConfig({ env }).fhir.bearerTokenEnv).toBe('NQO1_FHIR_TOKEN');
    expect(() => loadConfig({ env: { NQO1_FHIR_TOKEN: 'secret-1' } })).toThrow('NQO1_FHIR_TOKEN');
  });
});

describe('readSecretEnv', () => {
  test('reads the variable', () => {
    expect(readSecretEnv('NQO1_T', 'x.tokenEnv', { NQO1_T: 's1' })).toBe('s1');
  });

  test('reads the file named by <NAME>_FILE without its final line break', () => {
    const file = tempFile('token', 's2\n');
    expect(readSecretEnv('NQO1_T', 'x.tokenEnv', { NQO1_T_FILE: file })).toBe('s2');
  });

  test.each([
    [{}, 'x.tokenEnv names NQO1_T, but neither NQO1_T nor NQO1_T_FILE is set'],
    [{ NQO1_T: 'a', NQO1_T_FILE: '/x' }, 'both NQO1_T and NQO1_T_FILE are set'],
    [{ NQO1_T_FILE: '/nonexistent/token' }, 'which cannot be read (ENOENT)'],
  ])('rejects %o', (env, message) => {
    expect(() => readSecretEnv('NQO1_T', 'x.tokenEnv', env)).toThrow(message);
  });

  test.each([
    [{ NQO1_T: '   ' }, 'NQO1_T'],
    [{ NQO1_T: 'tok en' }, 'NQO1_T'],
    [{ NQO1_T_FILE: 'FILE:tok \n' }, 'NQO1_T_FILE'],
  ])('rejects a secret that no bearer header can carry: %j', (env, source) => {
    const resolved: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) {
      resolved[name] = value.startsWith('FILE:') ? tempFile('spaced', value.slice(5)) : value;
    }
    expect(() => readSecretEnv('NQO1_T', 'x.tokenEnv', resolved)).toThrow(
      `x.tokenEnv names a secret whose value in ${source} contains spaces`,
    );
  });

  test('rejects an empty file', () => {
    const file = tempFile('empty', '\n');
    expect(() => readSecretEnv('NQO1_T', 'x.tokenEnv', { NQO1_T_FILE: file })).toThrow(/is empty/);
  });
});
