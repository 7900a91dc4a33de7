import { describe, expect, test } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { assertUrlAllowed, isUrlAllowed } from '../../src/net/url-allowlist.js';

const ALLOWLIST = ['https://pacs.example/dicom-web', 'http://127.0.0.1:8080/'];

describe('assertUrlAllowed', () => {
  test.each([
    'https://pacs.example/dicom-web',
    'https://pacs.example/dicom-web/',
    'https://pacs.example/dicom-web/studies',
    'http://127.0.0.1:8080',
    'http://127.0.0.1:8080/fhir/R4',
  ])('accepts %s', (url) => {
    expect(assertUrlAllowed(url, ALLOWLIST, 'DICOMweb').href).toBe(new URL(url).href);
  });

  test.each([
    ['other path', 'https://pacs.example/dicom-web-other'],
    ['parent path', 'https://pacs.example/'],
    ['dot segments', 'https://pacs.example/dicom-web/../admin'],
    ['encoded dot segments', 'https://pacs.example/dicom-web/%2e%2e/admin'],
    ['other scheme', 'http://pacs.example/dicom-web'],
    ['other port', 'https://pacs.example:8443/dicom-web'],
    ['other host', 'https://pacs.example.evil/dicom-web'],
    ['credentials', 'https://user:secret@pacs.example/dicom-web'],
    ['query', 'https://pacs.example/dicom-web?x=1'],
    ['fragment', 'https://pacs.example/dicom-web#x'],
    ['file scheme', 'file:///etc/passwd'],
    ['relative URL', '/dicom-web'],
    ['localhost alias', 'http://localhost:8080/'],
  ])('rejects %s', (_case, url) => {
    const error: unknown = (() => {
      try {
        assertUrlAllowed(url, ALLOWLIST, 'DICOMweb');
        return null;
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(isNqo1Error(error, 'ERR_URL_NOT_ALLOWED')).toBe(true);
    expect(isUrlAllowed(url, ALLOWLIST)).toBe(false);
  });

  test('message omits credentials', () => {
    expect(() => assertUrlAllowed('https://user:secret@pacs.example/x', ALLOWLIST, 'FHIR')).toThrow(
      /^(?!.*secret).*FHIR base URL/,
    );
  });

  test('empty allowlist rejects everything', () => {
    expect(isUrlAllowed('https://pacs.example/dicom-web', [])).toBe(false);
  });
});
