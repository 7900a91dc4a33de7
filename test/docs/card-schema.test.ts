/**
 * docs/model-card.schema.json must be the JSON Schema rendered from the zod card schema, and it
 * must describe every top-level field.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { CARD_SCHEMA_PATH, renderCardSchema } from '../../scripts/card-schema.js';

describe('docs/model-card.schema.json', () => {
  it('matches the rendered schema', () => {
    // On failure, run `npm run docs:schema` and commit the file.
    expect(readFileSync(CARD_SCHEMA_PATH, 'utf8')).toBe(renderCardSchema());
  });

  it('describes every top-level field and requires the core ones', () => {
    const schema = JSON.parse(readFileSync(CARD_SCHEMA_PATH, 'utf8')) as {
      properties: Record<string, { description?: string }>;
      required: string[];
      additionalProperties: boolean;
    };
    const undescribed = Object.entries(schema.properties)
      .filter(([, property]) => property.description === undefined)
      .map(([name]) => name);
    expect(undescribed).toEqual([]);
    expect(schema.required).toEqual(
      expect.arrayContaining(['features', 'intercept', 'threshold', 'scaling', 'citation', 'intendedUse']),
    );
    expect(schema.required).not.toContain('recalibration');
    expect(schema.additionalProperties).toBe(false);
  });
});
