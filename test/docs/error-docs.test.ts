/**
 * docs/errors.md must list every error code exactly as the code defines it.
 */

import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ERROR_DOCS_PATH, renderErrorDocs } from '../../scripts/error-docs.js';
import { ERROR_CODES } from '../../src/errors.js';

describe('docs/errors.md', () => {
  it('matches the rendered table', () => {
    // On failure, run `npm run docs:errors` and commit the file.
    expect(readFileSync(ERROR_DOCS_PATH, 'utf8')).toBe(renderErrorDocs());
  });

  it('has one row per error code', () => {
    const text = readFileSync(ERROR_DOCS_PATH, 'utf8');
    for (const code of Object.keys(ERROR_CODES)) {
      expect({ code, rows: text.split(`| \`${code}\` |`).length - 1 }).toEqual({ code, rows: 1 });
    }
  });
});
