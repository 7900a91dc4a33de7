import { readFileSync } from 'node:fs';

import { describe, expect, test } from 'vitest';

import { loadConfig, parseConfig } from '../../src/server/config.js';
import { packagePath } from '../../src/paths.js';

const DOC = readFileSync(packagePath('docs', 'configuration.md'), 'utf8');

/** Dotted paths of every leaf key of `value`; arrays of objects add `[]` and their keys. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) {
    const objects = value.filter((item): item is Record<string, unknown> => typeof item === 'object');
    return objects.length === 0 ? [prefix] : objects.flatMap((item) => keyPaths(item, `${prefix}[]`));
  }
  if (typeof value !== 'object' || value === null) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    // An inline JWKS is the EHR's data, not a configuration key.
    return key === 'jwks' ? [path] : keyPaths(child, path);
  });
}

describe('config/site.example.json', () => {
  test('passes the configuration schema', () => {
    const config = loadConfig({ configPath: packagePath('config', 'site.example.json'), env: {} });

    expect(config.server.publicUrl).toBe('https://cds.hospital.example/nqo1');
    expect(config.auth.issuers).toHaveLength(1);
    expect(config.fhir.bearerTokenEnv).toBe('NQO1_FHIR_TOKEN');
  });
});

describe('docs/configuration.md', () => {
  test('documents every configuration key', () => {
    const example = loadConfig({ configPath: packagePath('config', 'site.example.json'), env: {} });
    const withInlineJwks = {
      ...example,
      auth: { ...example.auth, issuers: [{ iss: 'x', jwks: {}, algorithms: [] }] },
    };
    const paths = new Set([...keyPaths(example), ...keyPaths(withInlineJwks)]);

    const missing = [...paths].filter((path) => !DOC.includes(`\`${path}\``));
    expect(missing).toEqual([]);
    expect(paths.size).toBeGreaterThan(20);
  });
});

describe('inline JWKS', () => {
  test('rejects a private key', () => {
    const defaults = loadConfig({ env: {} });
    const config = {
      ...defaults,
      server: { host: '127.0.0.1', port: 8080 },
      auth: {
        issuers: [
          { iss: 'https://ehr.test', jwks: { keys: [{ kty: 'EC', crv: 'P-384', x: 'a', y: 'b', d: 'c' }] } },
        ],
      },
    };

    expect(() => parseConfig(config)).toThrow(/auth\.issuers\[0\]\.jwks\.keys\[0\]: expected a public key/);
  });
});
